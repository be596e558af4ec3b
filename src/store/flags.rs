//! Maildir flags: what a mail reader remembers about a message, kept in its file name
//! (<https://cr.yp.to/proto/maildir.html>, "info semantics").
//!
//! A message in `cur/` is named `<unique>:2,<flags>`, where `<flags>` is a run of
//! letters "in ASCII order". The spec defines six:
//!
//! | letter | [`Flag`] | meaning | IMAP (RFC 9051 §2.3.2) |
//! |---|---|---|---|
//! | `D` | `Draft` | the user is still writing it | `\Draft` |
//! | `F` | `Flagged` | marked for attention | `\Flagged` |
//! | `P` | `Passed` | forwarded (resent, bounced) | — |
//! | `R` | `Replied` | answered | `\Answered` |
//! | `S` | `Seen` | read | `\Seen` |
//! | `T` | `Trashed` | to be removed at the next expunge | `\Deleted` |
//!
//! Other letters are kept as they are, in order: Dovecot, for one, writes lowercase
//! letters for IMAP keywords, and postie must not lose them when it adds an `S`.
//!
//! Left out: the experimental `:1,` info of the spec (a name with it keeps its unique
//! part and loses the rest when postie renames it), and keyword names (Dovecot keeps the
//! letter-to-keyword table in a file of its own).

use std::collections::BTreeSet;
use std::fmt;

/// What separates the unique name from the flags: `:2,`, "version 2" of the info.
const INFO: &str = ":2,";

/// One of the six flags the Maildir spec defines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flag {
    Draft,
    Flagged,
    Passed,
    Replied,
    Seen,
    Trashed,
}

impl Flag {
    /// Every flag, in the order of their letters.
    pub const ALL: [Flag; 6] = [
        Flag::Draft,
        Flag::Flagged,
        Flag::Passed,
        Flag::Replied,
        Flag::Seen,
        Flag::Trashed,
    ];

    /// The letter in the file name.
    pub fn letter(self) -> char {
        match self {
            Flag::Draft => 'D',
            Flag::Flagged => 'F',
            Flag::Passed => 'P',
            Flag::Replied => 'R',
            Flag::Seen => 'S',
            Flag::Trashed => 'T',
        }
    }
}

/// The flags of one message: the six of the spec and any other letters found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Flags(BTreeSet<char>);

impl Flags {
    /// No flag at all: a message just delivered.
    pub fn new() -> Flags {
        Flags::default()
    }

    /// The flags after `:2,`, as found in a name. Only ASCII letters count; anything
    /// else would make a name no other reader understands.
    pub fn parse(letters: &str) -> Flags {
        Flags(letters.chars().filter(char::is_ascii_alphabetic).collect())
    }

    pub fn contains(&self, flag: Flag) -> bool {
        self.0.contains(&flag.letter())
    }

    pub fn insert(&mut self, flag: Flag) {
        self.0.insert(flag.letter());
    }

    pub fn remove(&mut self, flag: Flag) {
        self.0.remove(&flag.letter());
    }

    /// The six flags of the spec that are set, in order.
    pub fn standard(&self) -> impl Iterator<Item = Flag> + '_ {
        Flag::ALL.into_iter().filter(|&f| self.contains(f))
    }
}

/// The letters in ASCII order, as the spec asks: `FRS`, never `SRF`.
impl fmt::Display for Flags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A BTreeSet iterates in order: ASCII order for ASCII letters.
        self.0.iter().try_for_each(|c| write!(f, "{c}"))
    }
}

// ANCHOR: split_name
/// A Maildir file name split into its unique part and its flags: `1.M2P3Q4.host:2,RS`
/// → (`1.M2P3Q4.host`, R and S). A name without `:2,` (mail in `new/`) has no flags.
pub fn split_name(name: &str) -> (&str, Flags) {
    match name.split_once(INFO) {
        Some((unique, letters)) => (unique, Flags::parse(letters)),
        // The unique part never contains ':' (the spec escapes it as \072).
        None => (name.split(':').next().unwrap_or(name), Flags::new()),
    }
}

/// The name of a message in `cur/`: `<unique>:2,<flags>`.
pub fn cur_name(unique: &str, flags: &Flags) -> String {
    format!("{unique}{INFO}{flags}")
}
// ANCHOR_END: split_name

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        let table = [
            ("1.M2P3Q4.host", "1.M2P3Q4.host", "", "1.M2P3Q4.host:2,"),
            ("1.M2P3Q4.host:2,", "1.M2P3Q4.host", "", "1.M2P3Q4.host:2,"),
            (
                "1.M2P3Q4.host:2,S",
                "1.M2P3Q4.host",
                "S",
                "1.M2P3Q4.host:2,S",
            ),
            // Written in ASCII order, whatever order they were found in.
            (
                "1.M2P3Q4.host:2,SRF",
                "1.M2P3Q4.host",
                "FRS",
                "1.M2P3Q4.host:2,FRS",
            ),
            ("x:2,DFPRST", "x", "DFPRST", "x:2,DFPRST"),
            // Another reader's keyword letters survive, in order.
            ("x:2,Sab", "x", "Sab", "x:2,Sab"),
            ("x:2,aS", "x", "Sa", "x:2,Sa"),
            // Twice is once; what is not a letter is dropped.
            ("x:2,SS,1", "x", "S", "x:2,S"),
            // The experimental ":1," info is not flags.
            ("x:1,whatever", "x", "", "x:2,"),
        ];
        for (name, unique, letters, again) in table {
            let (u, flags) = split_name(name);
            assert_eq!((u, flags.to_string().as_str()), (unique, letters), "{name}");
            assert_eq!(cur_name(u, &flags), again, "{name}");
        }
    }

    #[test]
    fn insert_and_remove_keep_the_order() {
        let mut flags = Flags::parse("T");
        flags.insert(Flag::Seen);
        flags.insert(Flag::Draft);
        flags.insert(Flag::Seen);
        assert_eq!(flags.to_string(), "DST");
        assert!(flags.contains(Flag::Seen));
        flags.remove(Flag::Seen);
        assert!(!flags.contains(Flag::Seen));
        assert_eq!(flags.to_string(), "DT");
        assert_eq!(
            flags.standard().collect::<Vec<_>>(),
            [Flag::Draft, Flag::Trashed]
        );
    }

    #[test]
    fn every_flag_has_its_letter() {
        let all: String = Flag::ALL.iter().map(|f| f.letter()).collect();
        assert_eq!(all, "DFPRST");
        for flag in Flag::ALL {
            let flags = Flags::parse(&flag.letter().to_string());
            assert_eq!(flags.standard().collect::<Vec<_>>(), [flag]);
        }
    }
}
