//! The HTTP request reader (src/http/reader.rs) and the request helpers on any bytes,
//! however they are split into reads. It must never panic; every request it returns
//! has a path that starts with `/`, and its body is never longer than the limit.
#![no_main]

use std::io::{self, Read};

use libfuzzer_sys::fuzz_target;
use postie::config::HttpLimits;
use postie::http::{ReadRequest, RequestReader};

/// The input in pieces: the first byte says how long each read is.
struct Pieces<'a> {
    data: &'a [u8],
    step: usize,
}

impl Read for Pieces<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.step.min(buf.len()).min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&step, data)) = data.split_first() else {
        return;
    };
    let limits = HttpLimits {
        max_head: 512,
        max_body: 256,
        ..HttpLimits::default()
    };
    let input = Pieces {
        data,
        step: usize::from(step % 64) + 1,
    };
    let mut reader = RequestReader::new(input, None, limits);
    for _ in 0..64 {
        match reader.read_request() {
            ReadRequest::Request(request) => {
                assert!(request.path.starts_with('/'));
                assert!(request.body.len() <= 256);
                let _ = request.segments();
                let _ = request.query_map();
                let _ = request.form();
                let _ = request.keep_alive();
                let _ = request.cookie("postie_session");
            }
            ReadRequest::Gone | ReadRequest::Refused(..) => return,
        }
    }
});
