//! The `postie` binary: flags → Config → Server, plus logging and signals.

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

use postie::cli::{Args, Command, UserAction};
use postie::config::{Protocol, Service};
use postie::server::Server;
use postie::store::spool::{listing, Spool};
use postie::TRACE;

fn main() -> ExitCode {
    let args = match Args::try_parse() {
        Ok(args) => args,
        // --help and --version are not mistakes: clap prints them, we exit 0.
        Err(e) if !e.use_stderr() => {
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        // Every mistake is one line: "postie: ..." and exit code 2.
        Err(e) => {
            let rendered = e.render().to_string();
            let first = rendered.lines().next().unwrap_or("invalid arguments");
            return fail(&format!(
                "{} (see postie --help)",
                first.trim_start_matches("error: ")
            ));
        }
    };
    if let Some(Command::Check(check)) = &args.command {
        return postie::check::main(check);
    }
    init_logging(args.trace);
    if let Some(Command::Queue { flush }) = args.command {
        return queue(&args.spool, flush);
    }
    if let Some(Command::User {
        action: UserAction::Add { address },
    }) = &args.command
    {
        return add_user(args.users.as_deref(), address);
    }
    let config = match args.into_config() {
        Ok(config) => config,
        Err(e) => return fail(&e),
    };
    if let Some(directory) = &config.directory {
        log::info!(
            "who is who: the directory at {} under {}",
            directory.url,
            directory.base
        );
    }
    let (domains, maildir) = (
        config.policy.local_domains.join(", "),
        config.maildir.clone(),
    );
    let server = match Server::bind(config) {
        Ok(server) => server,
        Err(e) => return fail(&e.to_string()),
    };
    let (Ok(addr), Ok(handle)) = (server.local_addr(), server.shutdown_handle()) else {
        return fail("cannot read the listening address");
    };
    // ANCHOR: signals
    // SIGINT (Ctrl-C) or SIGTERM: stop gracefully; a second one stops at once.
    let mut signals = match Signals::new([SIGINT, SIGTERM]) {
        Ok(signals) => signals,
        Err(e) => return fail(&format!("cannot install signal handlers: {e}")),
    };
    std::thread::spawn(move || {
        let mut received = signals.forever();
        if received.next().is_some() {
            handle.shutdown();
        }
        if received.next().is_some() {
            std::process::exit(130);
        }
    });
    // ANCHOR_END: signals
    // The "listening" lines come once every listener and the relay run, so whoever
    // waits for them (a test, a script) finds the whole server started.
    let (pop3, pop3s, http, https) = (
        server.addr_of(Protocol::Pop3),
        server.addr_of(Protocol::Pop3s),
        server.addr_of(Protocol::Http),
        server.addr_of(Protocol::Https),
    );
    let submission = [
        (Service::Submission, "submission (RFC 6409)"),
        (
            Service::SubmissionTls,
            "submission over implicit TLS (RFC 8314)",
        ),
    ]
    .map(|(service, what)| (server.addr_of(Protocol::Smtp(service)), what));
    let running = match server.start() {
        Ok(running) => running,
        Err(e) => return fail(&e.to_string()),
    };
    // Before the "listening" line, which tests wait for: by then this one is written.
    if let Some(pop3) = pop3 {
        log::info!("POP3 listening on {pop3}; reading {}", maildir.display());
    }
    if let Some(pop3s) = pop3s {
        log::info!("POP3 over implicit TLS (RFC 8314) listening on {pop3s}");
    }
    for (addr, what) in submission {
        if let Some(addr) = addr {
            log::info!("{what} listening on {addr}");
        }
    }
    if let Some(http) = http {
        log::info!("web view and API on http://{http}/");
    }
    if let Some(https) = https {
        log::info!("web view and API over TLS on https://{https}/");
    }
    log::info!(
        "postie listening on {addr}; mail for {domains} goes to {}",
        maildir.display()
    );
    running.wait();
    ExitCode::SUCCESS
}

/// `postie queue [--flush]`: the operator's view of the outbound queue.
fn queue(spool: &std::path::Path, flush: bool) -> ExitCode {
    let spool = match Spool::open(spool) {
        Ok(spool) => spool,
        Err(e) => return fail(&format!("cannot open spool {}: {e}", spool.display())),
    };
    if flush {
        return match spool.request_flush() {
            Ok(()) => {
                println!("Flush requested: a running postie retries every queued message within a second.");
                ExitCode::SUCCESS
            }
            Err(e) => fail(&format!("cannot request a flush: {e}")),
        };
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    match spool.list() {
        Ok(entries) => {
            print!("{}", listing(&entries, now));
            ExitCode::SUCCESS
        }
        Err(e) => fail(&format!("cannot read the queue: {e}")),
    }
}

/// `postie user add ADDRESS --users FILE`: hash a password into the users file.
fn add_user(users: Option<&std::path::Path>, address: &str) -> ExitCode {
    let Some(path) = users else {
        return fail("postie user add needs --users FILE (the file postie is started with)");
    };
    if let Err(e) = postie::address::parse_mailbox(address) {
        return fail(&format!("{address:?}: {e}"));
    }
    let password = match read_password() {
        Ok(password) => password,
        Err(e) => return fail(&e),
    };
    let result = postie::accounts::hash_password(&password)
        .and_then(|hash| postie::accounts::set_password(path, address, &hash));
    match result {
        Ok(()) => {
            println!("Password set for {address} in {}.", path.display());
            ExitCode::SUCCESS
        }
        Err(e) => fail(&e),
    }
}

/// From a terminal: asked twice, not echoed. From a pipe: the first line.
fn read_password() -> Result<String, String> {
    use std::io::IsTerminal;
    let password = if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password("Password: ").map_err(|e| e.to_string())?;
        let again = rpassword::prompt_password("Again: ").map_err(|e| e.to_string())?;
        if first != again {
            return Err("the passwords differ; nothing changed".into());
        }
        first
    } else {
        let mut line = String::new();
        std::io::stdin()
            .read_line(&mut line)
            .map_err(|e| format!("cannot read the password: {e}"))?;
        line.trim_end_matches(['\r', '\n']).to_string()
    };
    if password.is_empty() {
        return Err("an empty password is not a password; nothing changed".into());
    }
    Ok(password)
}

fn fail(message: &str) -> ExitCode {
    eprintln!("postie: {message}");
    ExitCode::from(2)
}

/// Logs at `info` by default (RUST_LOG overrides). `--trace` adds the dialogue, printed
/// plainly so it reads well beside a telnet window.
fn init_logging(trace: bool) {
    let mut builder =
        env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info"));
    if trace {
        builder.filter_module(TRACE, log::LevelFilter::Trace);
    }
    builder.format(|out, record| {
        if record.target() == TRACE {
            writeln!(out, "{}", record.args())
        } else {
            writeln!(
                out,
                "[{} {}] {}",
                out.timestamp_seconds(),
                record.level(),
                record.args()
            )
        }
    });
    builder.init();
}
