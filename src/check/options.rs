//! `postie check`'s flags, and the command itself: flags → [`Settings`] → run →
//! report → exit status (0: every MUST holds; 1: some MUST does not; 2: a mistake in
//! the flags, or no server at HOST:PORT).

use std::io::{IsTerminal, Write};
use std::net::ToSocketAddrs;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use super::report::{json, junit, table};
use super::store::Store;
use super::{checks, Settings};

/// How to print the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// A table for people (coloured on a terminal).
    Table,
    /// One JSON object, for scripts.
    Json,
    /// JUnit XML, for autograders (GitHub Classroom, Gradescope).
    Junit,
}

// ANCHOR: args
/// What `postie check --help` says first.
pub const LONG_ABOUT: &str = "\
Grade any SMTP server against RFC 5321, chapter by chapter of the postie book.

Connects to HOST:PORT and runs the checks of stages 1 to 12 (the book's chapters, from \
Listening to Keeping it safe). Each check names its RFC section and whether that section \
says MUST or SHOULD; a failure shows the exact bytes sent and received. Checks that must \
see what the server stored need --maildir or --mbox; without them they are \"not checked\".

Exit status: 0 when every MUST holds, 1 when one does not, 2 when the server cannot be \
reached or a flag is wrong.";

/// The flags of `postie check`.
#[derive(Debug, Clone, clap::Args)]
pub struct CheckArgs {
    /// The server to grade, e.g. 127.0.0.1:2525 (needed unless --list).
    #[arg(value_name = "HOST:PORT")]
    pub target: Option<String>,

    /// Run the checks of stages 1 to N only (one stage per chapter; see the book's
    /// appendix "Grading a server").
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u8).range(1..=12))]
    pub stage: Option<u8>,

    /// Run only the check with this id (repeat for several), e.g. data.dot-stuffing.
    #[arg(long, value_name = "ID")]
    pub only: Vec<String>,

    /// Leave out the checks that wait for a timeout (listen.idle waits 5 minutes).
    #[arg(long)]
    pub skip_slow: bool,

    /// The Maildir (or a directory of Maildirs) where the server stores mail for
    /// --to: lets the checks that must see stored mail run.
    #[arg(long, value_name = "DIR", conflicts_with = "mbox")]
    pub maildir: Option<PathBuf>,

    /// The mbox file where the server stores mail for --to.
    #[arg(long, value_name = "FILE")]
    pub mbox: Option<PathBuf>,

    /// How to print the report.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,

    /// A recipient the server accepts mail for.
    #[arg(long, value_name = "ADDRESS", default_value = "postmaster@localhost")]
    pub to: String,

    /// The sender of the test messages.
    #[arg(long, value_name = "ADDRESS", default_value = "grader@example.org")]
    pub from: String,

    /// The name the grader gives in EHLO and HELO.
    #[arg(long, value_name = "NAME", default_value = "grader.example.org")]
    pub helo: String,

    /// Seconds to wait for any one reply.
    #[arg(long, value_name = "SECS", default_value_t = 30)]
    pub timeout: u64,

    /// Milliseconds of silence after which no more replies are expected.
    #[arg(long, value_name = "MS", default_value_t = 500)]
    pub quiet_ms: u64,

    /// Seconds the slow checks stay idle (RFC 5321 §4.5.3.2.7: 5 minutes).
    #[arg(long, value_name = "SECS", default_value_t = 300)]
    pub idle: u64,

    /// Seconds a message may take to appear in --maildir or --mbox after its 250.
    #[arg(long, value_name = "SECS", default_value_t = 10)]
    pub store_wait: u64,

    /// List the checks (id, stage, level, RFC section, rule) and exit.
    #[arg(long)]
    pub list: bool,
}
// ANCHOR_END: args

impl CheckArgs {
    /// Checks the flags and resolves HOST:PORT.
    pub fn settings(&self) -> Result<Settings, String> {
        let name = self
            .target
            .as_deref()
            .ok_or("which server? Give HOST:PORT, e.g. 127.0.0.1:2525")?;
        let target = name
            .to_socket_addrs()
            .map_err(|e| format!("{name}: {e} (write HOST:PORT, e.g. 127.0.0.1:2525)"))?
            .next()
            .ok_or_else(|| format!("{name}: no address"))?;
        if let Some(id) = self
            .only
            .iter()
            .find(|id| !checks::all().any(|c| c.id == *id))
        {
            return Err(format!("--only {id}: no such check (see --list)"));
        }
        if self.timeout == 0 || self.quiet_ms == 0 {
            return Err("--timeout and --quiet-ms must be at least 1".into());
        }
        let mut settings = Settings::new(target);
        settings.target_name = name.to_string();
        settings.helo = self.helo.clone();
        settings.from = self.from.clone();
        settings.to = self.to.clone();
        if let Some(stage) = self.stage {
            settings.stage = stage;
        }
        settings.only = self.only.clone();
        settings.skip_slow = self.skip_slow;
        settings.store = match (&self.maildir, &self.mbox) {
            (Some(dir), _) => Some(Store::Maildir(dir.clone())),
            (None, Some(file)) => Some(Store::Mbox(file.clone())),
            (None, None) => None,
        };
        settings.reply_timeout = Duration::from_secs(self.timeout);
        settings.quiet = Duration::from_millis(self.quiet_ms);
        settings.idle = Duration::from_secs(self.idle);
        settings.store_wait = Duration::from_secs(self.store_wait);
        Ok(settings)
    }
}

/// `postie check ...`: run, print, and say with the exit status whether every MUST holds.
pub fn main(args: &CheckArgs) -> ExitCode {
    if args.list {
        let mut stdout = std::io::stdout().lock();
        for c in checks::all() {
            // A closed pipe (`| head`) is not an error worth a panic.
            let _ = writeln!(
                stdout,
                "{:<32} stage {:>2}  {:<6}  {:<34} {}",
                c.id,
                c.stage,
                c.level.as_str(),
                c.section,
                c.title
            );
        }
        return ExitCode::SUCCESS;
    }
    let settings = match args.settings() {
        Ok(settings) => settings,
        Err(e) => {
            eprintln!("postie check: {e}");
            return ExitCode::from(2);
        }
    };
    // Nothing to grade if nothing answers: say so once, not in every check.
    if let Err(e) = std::net::TcpStream::connect_timeout(&settings.target, settings.reply_timeout) {
        eprintln!(
            "postie check: cannot connect to {}: {e}",
            settings.target_name
        );
        return ExitCode::from(2);
    }
    let report = super::run(&settings);
    let text = match args.format {
        Format::Table => {
            let colour = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
            table::render(&report, table::Paint(colour))
        }
        Format::Json => json::render(&report),
        Format::Junit => junit::render(&report),
    };
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(text.as_bytes());
    let _ = stdout.flush();
    if report.ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Wrapper {
        #[command(flatten)]
        args: super::CheckArgs,
    }

    fn parse(args: &[&str]) -> Result<super::CheckArgs, String> {
        Wrapper::try_parse_from(std::iter::once("check").chain(args.iter().copied()))
            .map(|w| w.args)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn flags_become_settings() {
        let args = parse(&[
            "127.0.0.1:2525",
            "--stage",
            "8",
            "--only",
            "data.end",
            "--mbox",
            "/tmp/m",
        ])
        .unwrap();
        let s = args.settings().unwrap();
        assert_eq!((s.stage, s.only.len(), s.target.port()), (8, 1, 2525));
        assert!(matches!(s.store, Some(super::Store::Mbox(_))));
        assert!(
            parse(&["--list"]).is_ok(),
            "--list needs no HOST:PORT: {:?}",
            parse(&["--list"])
        );
        assert!(parse(&[]).unwrap().settings().is_err());
        assert!(parse(&["127.0.0.1:25", "--stage", "13"]).is_err());
        assert!(parse(&["127.0.0.1:25", "--maildir", "a", "--mbox", "b"]).is_err());
        let bad = parse(&["127.0.0.1:25", "--only", "no.such"]).unwrap();
        assert!(bad.settings().unwrap_err().contains("no such check"));
    }
}
