//! The line reader (src/line.rs) on any bytes, arriving in reads of any size, with any
//! buffer capacity and line limit. It must never panic, never return a line longer than
//! the limit or without its LF, and, when no line was too long, give back exactly the
//! input up to its last LF.
#![no_main]

use std::io::{self, Read};

use libfuzzer_sys::fuzz_target;
use postie::wire::line::{LineReader, ReadError};

/// Hands out `data` in reads whose sizes cycle through `sizes`. A 0 means "timed out",
/// and is followed by a read of at least one byte, so every input ends.
struct Chunks<'a> {
    data: &'a [u8],
    sizes: &'a [u8],
    turn: usize,
    timed_out: bool,
}

impl Read for Chunks<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.data.is_empty() {
            return Ok(0);
        }
        let size = self
            .sizes
            .get(self.turn % self.sizes.len().max(1))
            .copied()
            .unwrap_or(255);
        self.turn += 1;
        if size == 0 && !self.timed_out {
            self.timed_out = true;
            return Err(io::ErrorKind::WouldBlock.into());
        }
        self.timed_out = false;
        let n = usize::from(size.max(1)).min(buf.len()).min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

fuzz_target!(|input: &[u8]| {
    let [capacity, max_len, sizes_len, rest @ ..] = input else {
        return;
    };
    let (sizes, data) = rest.split_at(usize::from(*sizes_len % 8).min(rest.len()));
    let capacity = usize::from(*capacity) * 4 + 1;
    let max_len = usize::from(*max_len) * 4 + 1;
    let limit = max_len.min(capacity);
    let mut reader = LineReader::with_capacity(
        Chunks {
            data,
            sizes,
            turn: 0,
            timed_out: false,
        },
        capacity,
    );
    let mut lines = Vec::new();
    let mut too_long = false;
    // At most two reads per input byte (see `Chunks`), and a line per read at most.
    for _ in 0..=4 * data.len() + 4 {
        match reader.read_line(max_len) {
            Ok(line) => {
                let raw = line.raw();
                assert!(raw.ends_with(b"\n") && raw.len() <= limit, "{raw:?}");
                assert_eq!(raw.iter().filter(|&&b| b == b'\n').count(), 1);
                lines.extend_from_slice(raw);
            }
            Err(ReadError::TooLong) => too_long = true,
            Err(ReadError::TimedOut) => {}
            Err(ReadError::Closed) => break,
            Err(ReadError::Io(e)) => panic!("{e}"),
        }
    }
    if !too_long {
        let through_last_lf = data.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        assert_eq!(lines, &data[..through_last_lf]);
    }
});
