//! The pieces of IMAP's command syntax (RFC 3501 §4, §9): atoms, quoted strings,
//! literals, numbers, sequence sets, lists and dates, read from one whole command.
//!
//! A command reaches the parser whole: its lines and the octets of every literal in
//! between, as they came (`A1 LOGIN {5}\r\nalice x\r\n` arrives as one buffer, see
//! [`crate::imap::session`]). So a literal is just one more kind of string here: `{n}`
//! (or `{n+}`, RFC 7888), CR LF, then n octets of anything.
//!
//! Every function returns a [`Syntax`] error instead of panicking: the input is the
//! client's, and the answer to a mistake is a tagged `BAD` saying what was expected.
//!
//! Left out: the `$` of SEARCHRES (RFC 5182), UTF-8 quoted strings (RFC 6855), binary
//! literals `~{n}` (RFC 3516).

/// What the parser expected and did not find; becomes the text of a `BAD`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Syntax(pub String);

pub type Parsed<T> = Result<T, Syntax>;

fn expected<T>(what: &str) -> Parsed<T> {
    Err(Syntax(format!("expected {what}")))
}

// ANCHOR: sequence_set
/// One end of a range in a sequence set: a number, or `*` (the largest in use).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeqNumber {
    Value(u32),
    Star,
}

/// RFC 3501 §9 `sequence-set`: `1,3:5,7:*`. Numbers are message sequence numbers or
/// UIDs, as the command says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SequenceSet(pub Vec<(SeqNumber, SeqNumber)>);

impl SequenceSet {
    /// Does the set hold `n`, where `*` stands for `largest`? Ranges may be written
    /// either way round (`5:3` is `3:5`, §9).
    pub fn contains(&self, n: u32, largest: u32) -> bool {
        let value = |s: SeqNumber| match s {
            SeqNumber::Value(v) => v,
            SeqNumber::Star => largest,
        };
        self.0.iter().any(|&(a, b)| {
            let (a, b) = (value(a), value(b));
            a.min(b) <= n && n <= a.max(b)
        })
    }
}
// ANCHOR_END: sequence_set

/// A cursor over one whole command.
pub struct Parser<'a> {
    input: &'a [u8],
    pos: usize,
}

/// RFC 3501 §9 `ATOM-CHAR`: any CHAR except `atom-specials`.
pub fn is_atom_char(b: u8) -> bool {
    b > b' ' && b < 0x7f && !b"(){%*\"\\]".contains(&b)
}

impl<'a> Parser<'a> {
    pub fn new(input: &'a [u8]) -> Parser<'a> {
        Parser { input, pos: 0 }
    }

    pub fn peek(&self) -> Option<u8> {
        self.input.get(self.pos).copied()
    }

    pub fn at_end(&self) -> bool {
        self.pos >= self.input.len()
    }

    /// Everything has been read.
    pub fn end(&self) -> Parsed<()> {
        if self.at_end() {
            Ok(())
        } else {
            let rest = String::from_utf8_lossy(&self.input[self.pos..]);
            Err(Syntax(format!(
                "unexpected text at the end: {}",
                rest.chars().take(30).collect::<String>().escape_debug()
            )))
        }
    }

    /// Takes `byte` if it comes next.
    pub fn eat(&mut self, byte: u8) -> bool {
        if self.peek() == Some(byte) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    pub fn expect(&mut self, byte: u8, what: &str) -> Parsed<()> {
        if self.eat(byte) {
            Ok(())
        } else {
            expected(what)
        }
    }

    /// One space: §9 allows exactly one between the parts of a command.
    pub fn sp(&mut self) -> Parsed<()> {
        self.expect(b' ', "a space")
    }

    /// Takes `word` (case-insensitive) if it comes next, followed by a delimiter.
    pub fn keyword(&mut self, word: &str) -> bool {
        let end = self.pos + word.len();
        let matches = self
            .input
            .get(self.pos..end)
            .is_some_and(|w| w.eq_ignore_ascii_case(word.as_bytes()));
        // A keyword ends where a longer one could not go on: `BODY[` is BODY, but
        // `BODY.PEEK` is not BODY.
        let delimited = self
            .input
            .get(end)
            .is_none_or(|&b| !(b.is_ascii_alphanumeric() || b".-_".contains(&b)));
        if matches && delimited {
            self.pos = end;
        }
        matches && delimited
    }

    /// Bytes while `pred` holds.
    fn take_while(&mut self, pred: impl Fn(u8) -> bool) -> &'a [u8] {
        let start = self.pos;
        while self.peek().is_some_and(&pred) {
            self.pos += 1;
        }
        &self.input[start..self.pos]
    }

    // ANCHOR: atom
    /// §9 `atom`: one or more ATOM-CHARs, as text (ATOM-CHARs are ASCII).
    pub fn atom(&mut self) -> Parsed<String> {
        let atom = self.take_while(is_atom_char);
        if atom.is_empty() {
            return expected("an atom");
        }
        Ok(String::from_utf8_lossy(atom).into_owned())
    }

    /// §9 `tag`: ATOM-CHARs except `+`.
    pub fn tag(&mut self) -> Parsed<String> {
        let tag = self.take_while(|b| is_atom_char(b) && b != b'+');
        if tag.is_empty() {
            return expected("a tag");
        }
        Ok(String::from_utf8_lossy(tag).into_owned())
    }
    // ANCHOR_END: atom

    // ANCHOR: string
    /// §9 `string`: a quoted string or a literal, as octets.
    pub fn string(&mut self) -> Parsed<Vec<u8>> {
        match self.peek() {
            Some(b'"') => self.quoted(),
            Some(b'{') => self.literal(),
            _ => expected("a string"),
        }
    }

    /// §4.3 quoted string: `"`, TEXT-CHARs with `\"` and `\\` escaped, `"`.
    fn quoted(&mut self) -> Parsed<Vec<u8>> {
        self.expect(b'"', "'\"'")?;
        let mut out = Vec::new();
        loop {
            match self.peek() {
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    self.pos += 1;
                    match self.peek() {
                        Some(c @ (b'"' | b'\\')) => out.push(c),
                        _ => return expected("'\"' or '\\' after '\\' in a quoted string"),
                    }
                    self.pos += 1;
                }
                Some(b'\r' | b'\n') | None => return expected("the end of the quoted string"),
                Some(c) => {
                    out.push(c);
                    self.pos += 1;
                }
            }
        }
    }

    /// §4.3 literal: `{n}` CRLF and n octets; RFC 7888 adds `{n+}`.
    fn literal(&mut self) -> Parsed<Vec<u8>> {
        self.expect(b'{', "'{'")?;
        let n = self.number()? as usize;
        self.eat(b'+');
        self.expect(b'}', "'}'")?;
        if !(self.eat(b'\r') && self.eat(b'\n')) {
            return expected("CRLF after a literal's length");
        }
        let Some(octets) = self.input.get(self.pos..self.pos + n) else {
            return expected("the literal's octets");
        };
        self.pos += n;
        Ok(octets.to_vec())
    }

    /// §9 `astring`: an atom (with `]` allowed) or a string.
    pub fn astring(&mut self) -> Parsed<Vec<u8>> {
        match self.peek() {
            Some(b'"' | b'{') => self.string(),
            _ => {
                let atom = self.take_while(|b| is_atom_char(b) || b == b']');
                if atom.is_empty() {
                    return expected("an atom or a string");
                }
                Ok(atom.to_vec())
            }
        }
    }

    /// An astring as UTF-8 text.
    pub fn astring_text(&mut self) -> Parsed<String> {
        String::from_utf8(self.astring()?).or_else(|_| expected("UTF-8 text"))
    }

    /// §9 `list-mailbox`: an astring where `%` and `*` are allowed unquoted.
    pub fn list_mailbox(&mut self) -> Parsed<Vec<u8>> {
        match self.peek() {
            Some(b'"' | b'{') => self.string(),
            _ => {
                let atom = self.take_while(|b| is_atom_char(b) || b"%*]".contains(&b));
                if atom.is_empty() {
                    return expected("a mailbox name or pattern");
                }
                Ok(atom.to_vec())
            }
        }
    }
    // ANCHOR_END: string

    /// §9 `number`: digits, fitting in 32 bits.
    pub fn number(&mut self) -> Parsed<u32> {
        let digits = self.take_while(|b| b.is_ascii_digit());
        std::str::from_utf8(digits)
            .ok()
            .and_then(|d| d.parse().ok())
            .map_or_else(|| expected("a number"), Ok)
    }

    /// §9 `nz-number`.
    pub fn nz_number(&mut self) -> Parsed<u32> {
        match self.number()? {
            0 => expected("a number greater than 0"),
            n => Ok(n),
        }
    }

    // ANCHOR: parse_sequence_set
    /// §9 `sequence-set`.
    pub fn sequence_set(&mut self) -> Parsed<SequenceSet> {
        let mut ranges = Vec::new();
        loop {
            let first = self.seq_number()?;
            let last = if self.eat(b':') {
                self.seq_number()?
            } else {
                first
            };
            ranges.push((first, last));
            if !self.eat(b',') {
                return Ok(SequenceSet(ranges));
            }
        }
    }

    fn seq_number(&mut self) -> Parsed<SeqNumber> {
        if self.eat(b'*') {
            Ok(SeqNumber::Star)
        } else {
            self.nz_number()
                .map(SeqNumber::Value)
                .or_else(|_| expected("a sequence set (such as 1:5,7 or 1:*)"))
        }
    }
    // ANCHOR_END: parse_sequence_set

    /// Is a sequence set next (a digit or `*`)?
    pub fn at_sequence_set(&self) -> bool {
        self.peek().is_some_and(|b| b.is_ascii_digit() || b == b'*')
    }

    /// §9 `flag-list` items or a single flag: `\Seen`, `$Keyword`.
    pub fn flag(&mut self) -> Parsed<String> {
        let backslash = self.eat(b'\\');
        let atom = self.atom()?;
        Ok(if backslash { format!("\\{atom}") } else { atom })
    }

    /// §9 `flag-list`: `(` flags separated by spaces `)`.
    pub fn flag_list(&mut self) -> Parsed<Vec<String>> {
        self.expect(b'(', "'(' to begin the flag list")?;
        let mut flags = Vec::new();
        if self.eat(b')') {
            return Ok(flags);
        }
        loop {
            flags.push(self.flag()?);
            if self.eat(b')') {
                return Ok(flags);
            }
            self.sp()?;
        }
    }

    /// A list of astrings in parentheses: `(From Subject)`.
    pub fn astring_list(&mut self) -> Parsed<Vec<String>> {
        self.expect(b'(', "'('")?;
        let mut items = Vec::new();
        loop {
            items.push(self.astring_text()?);
            if self.eat(b')') {
                return Ok(items);
            }
            self.sp()?;
        }
    }

    // ANCHOR: dates
    /// §9 `date`: `1-Feb-1994`, or quoted. As days since 1970-01-01.
    pub fn date(&mut self) -> Parsed<i64> {
        let quoted = self.eat(b'"');
        let day = self.take_while(|b| b.is_ascii_digit());
        let day = parse_u32(day).filter(|d| (1..=31).contains(d));
        let date = match day {
            Some(day) if self.eat(b'-') => {
                let month = self.take_while(|b| b.is_ascii_alphabetic());
                let month = month_number(month);
                let ok = self.eat(b'-');
                let year = parse_u32(self.take_while(|b| b.is_ascii_digit()));
                match (month, ok, year) {
                    (Some(m), true, Some(y)) if y >= 1000 => days_from_civil(y as i64, m, day),
                    _ => return expected("a date such as 1-Feb-2026"),
                }
            }
            _ => return expected("a date such as 1-Feb-2026"),
        };
        if quoted {
            self.expect(b'"', "'\"' after the date")?;
        }
        Ok(date)
    }

    /// §9 `date-time`: `"17-Jul-1996 02:44:25 -0700"`, as seconds since the epoch.
    pub fn date_time(&mut self) -> Parsed<i64> {
        let bad = || expected("a date-time such as \"17-Jul-1996 02:44:25 -0700\"");
        if !self.eat(b'"') {
            return bad();
        }
        self.eat(b' ');
        let days = match self.date() {
            Ok(days) => days,
            Err(_) => return bad(),
        };
        let mut clock = [0u32; 3];
        if !self.eat(b' ') {
            return bad();
        }
        for (i, part) in clock.iter_mut().enumerate() {
            if i > 0 && !self.eat(b':') {
                return bad();
            }
            match parse_u32(self.take_while(|b| b.is_ascii_digit())) {
                Some(v) => *part = v,
                None => return bad(),
            }
        }
        if !self.eat(b' ') {
            return bad();
        }
        let sign = match self.peek() {
            Some(b'+') => 1,
            Some(b'-') => -1,
            _ => return bad(),
        };
        self.pos += 1;
        let zone = self.take_while(|b| b.is_ascii_digit());
        let Some(zone) = parse_u32(zone).filter(|_| zone.len() == 4) else {
            return bad();
        };
        if !self.eat(b'"') || clock[0] > 23 || clock[1] > 59 || clock[2] > 60 {
            return bad();
        }
        let offset = sign * ((zone / 100) * 3600 + (zone % 100) * 60) as i64;
        let local = days * 86400 + (clock[0] * 3600 + clock[1] * 60 + clock[2]) as i64;
        Ok(local - offset)
    }
    // ANCHOR_END: dates
}

fn parse_u32(digits: &[u8]) -> Option<u32> {
    std::str::from_utf8(digits).ok()?.parse().ok()
}

pub const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

fn month_number(name: &[u8]) -> Option<u32> {
    MONTHS
        .iter()
        .position(|m| m.as_bytes().eq_ignore_ascii_case(name))
        .map(|i| i as u32 + 1)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = m as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atom_chars_are_visible_ascii_but_the_specials() {
        // §9: ATOM-CHAR is any CHAR (1-127) except atom-specials: CTL (0-31 and 127),
        // SP, "(", ")", "{", the wildcards, the quoted-specials and "]".
        for b in [b'!', b'A', b'z', b'~', b'[', b'+', b'&'] {
            assert!(is_atom_char(b), "{}", b as char);
        }
        for b in [
            0, b'\t', b' ', 0x7f, 0x80, 0xff, b'(', b')', b'{', b'%', b'*', b'"', b'\\', b']',
        ] {
            assert!(!is_atom_char(b), "{b:#x}");
        }
    }

    #[test]
    fn strings_in_three_forms() {
        let table: &[(&[u8], &[u8])] = &[
            (b"alice", b"alice"),
            (b"\"let me in\"", b"let me in"),
            (b"\"a \\\"b\\\" \\\\c\"", b"a \"b\" \\c"),
            (b"{5}\r\nhe\"lo", b"he\"lo"),
            (b"{5+}\r\nhe\r\no", b"he\r\no"),
            (b"{0}\r\n", b""),
        ];
        for (input, want) in table {
            let mut p = Parser::new(input);
            assert_eq!(
                p.astring().as_deref(),
                Ok(*want),
                "{}",
                input.escape_ascii()
            );
            assert!(p.at_end());
        }
        for bad in [
            &b"\"open"[..],
            b"{5}\r\nabc",
            b"{x}\r\n",
            b"{3}abc",
            b"(",
            b"\"a\\b\"",
        ] {
            assert!(
                Parser::new(bad).astring().is_err(),
                "{}",
                bad.escape_ascii()
            );
        }
    }

    #[test]
    fn sequence_sets() {
        let mut p = Parser::new(b"1,3:5,7:*");
        let set = p.sequence_set().unwrap();
        let members: Vec<u32> = (1..=9).filter(|&n| set.contains(n, 9)).collect();
        assert_eq!(members, [1, 3, 4, 5, 7, 8, 9]);
        let reversed = Parser::new(b"5:3").sequence_set().unwrap();
        assert!(reversed.contains(4, 10));
        // `*:4` on a mailbox of 2 is 2:4.
        assert!(Parser::new(b"*:4").sequence_set().unwrap().contains(2, 2));
        for bad in [&b"0"[..], b"1:", b":2", b"a", b"1,,2", b"99999999999"] {
            assert!(Parser::new(bad).sequence_set().is_err());
        }
    }

    #[test]
    fn dates_and_date_times() {
        assert_eq!(Parser::new(b"1-Jan-1970").date(), Ok(0));
        assert_eq!(Parser::new(b"\"2-jan-1970\"").date(), Ok(1));
        assert_eq!(Parser::new(b"29-Feb-2024").date(), Ok(19782));
        assert!(Parser::new(b"32-Jan-2024").date().is_err());
        assert!(Parser::new(b"1-Foo-2024").date().is_err());
        assert_eq!(
            Parser::new(b"\"17-Jul-1996 02:44:25 -0700\"").date_time(),
            Ok(837596665)
        );
        assert_eq!(
            Parser::new(b"\" 1-Jan-1970 01:00:00 +0100\"").date_time(),
            Ok(0)
        );
        assert!(Parser::new(b"\"17-Jul-1996 02:44 -0700\"")
            .date_time()
            .is_err());
    }

    #[test]
    fn dates_and_times_at_their_edges() {
        // §9: date-year is four digits; postie takes the years from 1000 on.
        assert_eq!(Parser::new(b"1-Jan-1000").date(), Ok(-354_285));
        assert!(Parser::new(b"1-Jan-999").date().is_err());
        // §9 time: 2DIGIT ":" 2DIGIT ":" 2DIGIT; a leap second is :60.
        let at = |clock: &str| {
            Parser::new(format!("\"1-Jan-1970 {clock} +0000\"").as_bytes()).date_time()
        };
        assert_eq!(at("23:59:60"), Ok(86_400));
        for wrong in ["24:00:00", "23:60:00", "23:59:61"] {
            assert!(at(wrong).is_err(), "{wrong}");
        }
        // A zone's minutes count too: India is five and a half hours ahead.
        assert_eq!(
            Parser::new(b"\"1-Jan-1970 05:30:00 +0530\"").date_time(),
            Ok(0)
        );
        assert!(Parser::new(b"\"1-Jan-1970 00:00:00 +0000")
            .date_time()
            .is_err());
    }

    #[test]
    fn keywords_need_a_delimiter() {
        let mut p = Parser::new(b"BODY.PEEK[");
        assert!(!p.keyword("BODY"));
        assert!(p.keyword("BODY.PEEK"));
        assert_eq!(p.peek(), Some(b'['));
        assert!(Parser::new(b"flags").keyword("FLAGS"));
    }

    #[test]
    fn flag_lists() {
        let mut p = Parser::new(b"(\\Seen \\Deleted $Junk)");
        assert_eq!(p.flag_list().unwrap(), ["\\Seen", "\\Deleted", "$Junk"]);
        assert_eq!(
            Parser::new(b"()").flag_list().unwrap(),
            Vec::<String>::new()
        );
        assert!(Parser::new(b"(\\Seen").flag_list().is_err());
    }
}
