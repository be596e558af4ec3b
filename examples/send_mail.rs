//! The seed's sender path, step by step, for one message.
//!
//! postie's relay does four things for each queued message, on a worker thread and
//! without a word on the screen. This example does the same four things in the open,
//! once, and prints what happens at each step:
//!
//! 1. **Ask DNS** which hosts take mail for the recipient's domain: the MX records
//!    (RFC 5321 §5.1, RFC 1035 §3.3.9), with [`postie::relay::dns`].
//! 2. **Choose the order** in which to try them, with [`postie::relay::mx::next_hops`]:
//!    lowest preference first, equal preferences shuffled, the domain itself when it has
//!    no MX at all (the "implicit MX"), nothing when it publishes a null MX (RFC 7505).
//! 3. **Talk SMTP** to the first host that answers, with [`postie::relay::client::deliver`]:
//!    greeting, EHLO, MAIL, RCPT, DATA, the text, the dot, QUIT. The dialogue trace is
//!    switched on, so every line sent (`C:`) and received (`S:`) is printed, and every
//!    state change of the client.
//! 4. **Read the verdict** for the recipient: delivered, deferred (try again later) or
//!    failed (the sender would get a bounce).
//!
//! Try it against two local programs, with no real mail server and no real DNS involved:
//!
//! ```text
//! # a DNS server that knows b.test and nothing else (tests/common/peers.rs runs the same):
//! dnsmasq --keep-in-foreground --conf-file=/dev/null --no-resolv --no-hosts \
//!   --listen-address=127.0.0.1 --bind-interfaces --port=5353 --local=/test/ \
//!   --mx-host=b.test,mx.b.test,10 --host-record=mx.b.test,127.0.0.1
//! # a postie that receives mail for b.test on port 2525:
//! cargo run -- --domain b.test --hostname mx.b.test --maildir /tmp/mail
//! # and this walk-through:
//! cargo run --example send_mail -- --dns-server 127.0.0.1:5353 \
//!   --from alice@a.test --to bob@b.test --remote-port 2525
//! ```
//!
//! Without `--dns-server` it asks the nameservers of `/etc/resolv.conf`, as postie does,
//! and the message goes out for real (to port 25, which many networks block).
//!
//! What the real relay does that this example does not: keep the message in a durable
//! queue first, retry later on a temporary failure, try every address of every host
//! (here: only until one accepts the connection), and send a bounce on a permanent one.
//! See `src/relay/runner.rs`.

use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;

use postie::address::{parse_domain, parse_mailbox, Host};
use postie::date::rfc5322_date;
use postie::relay::client::{deliver, Envelope, RecipientOutcome, Timeouts};
use postie::relay::dns::{DnsClient, DnsError, Resolver, SystemResolver};
use postie::relay::mx::next_hops;
use postie::TRACE;

/// Sends one message the way postie's relay does, printing every step.
#[derive(Debug, Parser)]
#[command(name = "send_mail")]
struct Args {
    /// The recipient, e.g. bob@b.test.
    #[arg(long, value_name = "ADDRESS")]
    to: String,

    /// The sender (the reverse path of MAIL FROM and the From: header).
    #[arg(long, value_name = "ADDRESS")]
    from: String,

    /// The DNS server to ask (ADDR:PORT), e.g. dnsmasq on 127.0.0.1:5353
    /// [default: the nameservers of /etc/resolv.conf].
    #[arg(long, value_name = "ADDR:PORT")]
    dns_server: Option<SocketAddr>,

    /// The port to connect to on the mail exchanger (25 on the Internet, RFC 5321 §4.5.4.2).
    #[arg(long, default_value_t = 25)]
    remote_port: u16,

    /// The Subject: of the message.
    #[arg(long, default_value = "Hello from postie's send_mail example")]
    subject: String,

    /// Our name in EHLO [default: this machine's hostname].
    #[arg(long, value_name = "NAME")]
    hostname: Option<String>,

    /// Seconds to wait for each reply of the server.
    #[arg(long, value_name = "SECS", default_value_t = 30)]
    timeout: u64,
}

fn main() -> ExitCode {
    let args = Args::parse();
    init_trace();
    match send(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(why) => {
            eprintln!("send_mail: {why}");
            ExitCode::FAILURE
        }
    }
}

/// The four steps. Any `Err` is a sentence for the user.
fn send(args: &Args) -> Result<(), String> {
    // The recipient's domain decides where the message goes: only the part after the
    // last "@" matters to a relay (RFC 5321 §2.3.11: the local part is for the
    // destination host alone to interpret).
    let recipient = parse_mailbox(&args.to).map_err(|e| format!("--to {:?}: {e}", args.to))?;
    parse_mailbox(&args.from).map_err(|e| format!("--from {:?}: {e}", args.from))?;
    let domain = match &recipient.host {
        Host::Domain(domain) => domain.clone(),
        // bob@[192.0.2.1]: an address literal names the host itself, no DNS needed.
        // The relay supports it through --route; here we keep to the DNS story.
        Host::Literal(ip) => {
            return Err(format!(
                "{ip} is an address literal; this example looks up MX records, so give a domain"
            ))
        }
    };
    let my_name = args.hostname.clone().unwrap_or_else(machine_hostname);

    // With --dns-server one server answers both MX and address questions (this is what
    // postie's --dns-server does, and what the tests use with dnsmasq). Without it,
    // SystemResolver asks the nameservers of /etc/resolv.conf for MX records and the
    // C library (getaddrinfo) for addresses, so /etc/hosts counts too.
    let resolver: Box<dyn Resolver> = match args.dns_server {
        Some(server) => {
            Box::new(DnsClient::new(vec![server]).with_timeout(Duration::from_secs(2), 2))
        }
        None => Box::new(
            SystemResolver::new().map_err(|e| format!("cannot read /etc/resolv.conf: {e}"))?,
        ),
    };
    let asked = args
        .dns_server
        .map_or("the nameservers of /etc/resolv.conf".to_string(), |s| {
            s.to_string()
        });

    // --- Step 1 ------------------------------------------------------------------------
    println!("== Step 1: which hosts take mail for {domain}? (MX records, asking {asked})");
    let mx_records = resolver.mx(&domain);
    match &mx_records {
        Ok(records) if records.is_empty() => {
            // NODATA: the name exists but has no MX record.
            println!("   {domain} has no MX record.");
            println!("   RFC 5321 §5.1: then the domain itself is the mail exchanger,");
            println!("   an \"implicit MX\" with preference 0.");
        }
        Ok(records) => {
            for mx in records {
                // The record as `dig` would print it. The null MX of RFC 7505 is the root
                // name ".", which the DNS client gives us as "".
                let exchange = if mx.exchange.is_empty() {
                    "."
                } else {
                    &mx.exchange
                };
                println!("   {domain}  MX  {} {exchange}", mx.preference);
            }
            println!("   (a lower preference number means: try this host first)");
        }
        // NXDOMAIN: the domain does not exist. Step 2 turns this into a permanent error.
        Err(DnsError::NoSuchDomain) => println!("   {domain} does not exist (NXDOMAIN)."),
        // A timeout or SERVFAIL: the relay would keep the message and try again later.
        Err(DnsError::Temporary(why)) => println!("   the lookup failed for now: {why}"),
    }

    // --- Step 2 ------------------------------------------------------------------------
    println!();
    println!("== Step 2: in which order to try them (postie::relay::mx::next_hops)");
    println!("   RFC 5321 §5.1: sort by preference, lowest first; shuffle hosts of equal");
    println!("   preference (so senders spread their load); use the domain itself if");
    println!("   there is no MX; drop ourselves ({my_name}) and every host worse than us;");
    println!("   then look up each host's addresses (A, then AAAA).");
    // next_hops asks DNS again (it is the function the relay calls, so we call it too).
    let hops = next_hops(
        &domain,
        resolver.as_ref(),
        std::slice::from_ref(&my_name),
        args.remote_port,
    )
    .map_err(|e| {
        let status = e.status();
        let kind = if e.is_permanent() {
            "permanent: the relay would bounce the message now"
        } else {
            "temporary: the relay would keep the message and retry later"
        };
        format!("no route to {domain}: {e} ({status}, {kind})")
    })?;
    let implicit = matches!(&mx_records, Ok(records) if records.is_empty());
    for (n, hop) in hops.iter().enumerate() {
        let addresses: Vec<String> = hop.addresses.iter().map(|a| a.to_string()).collect();
        let why = if implicit {
            " [implicit MX: the domain itself]".to_string()
        } else if hops
            .iter()
            .any(|other| other.host != hop.host && other.preference == hop.preference)
        {
            " [same preference as another host: their order is random]".to_string()
        } else {
            String::new()
        };
        println!(
            "   {}. {} (preference {}): {}{why}",
            n + 1,
            hop.host,
            hop.preference,
            addresses.join(", ")
        );
    }

    // --- Step 3 ------------------------------------------------------------------------
    println!();
    println!("== Step 3: the SMTP dialogue (C: is us, S: is the server)");
    // The relay tries every address of every host in this order until one of them gives
    // an answer. We stop at the first one that accepts the TCP connection.
    let timeout = Duration::from_secs(args.timeout.max(1));
    let mut connected = None;
    'hosts: for hop in &hops {
        for address in &hop.addresses {
            print!("   connecting to {} at {address} ... ", hop.host);
            let _ = std::io::stdout().flush();
            match TcpStream::connect_timeout(address, timeout) {
                Ok(stream) => {
                    println!("connected");
                    connected = Some((hop.host.clone(), stream));
                    break 'hosts;
                }
                // The relay would log this and go on to the next address, as we do.
                Err(e) => println!("{e}"),
            }
        }
    }
    let Some((host, stream)) = connected else {
        return Err(format!(
            "no mail exchanger of {domain} accepted a connection (the relay would retry later)"
        ));
    };

    let message = compose(args, &my_name);
    let recipients = vec![args.to.clone()];
    let envelope = Envelope {
        reverse_path: &args.from,
        recipients: &recipients,
        // RFC 1870: the size in octets, CRLFs included, before dot-stuffing.
        size: message.len() as u64,
        // Our text is plain ASCII: no BODY=8BITMIME, no SMTPUTF8 needed.
        eight_bit: false,
        smtputf8: false,
    };
    // RFC 5321 §4.5.3.2 asks for minutes at each stage; a walk-through should not hang
    // that long, so one --timeout for everything.
    let timeouts = Timeouts {
        greeting: timeout,
        command: timeout,
        data_init: timeout,
        data_block: timeout,
        data_end: timeout,
    };
    // Every line of the dialogue is logged to the postie::trace target at Trace level
    // (see init_trace), so it prints as it happens.
    let outcomes = deliver(&stream, &my_name, &envelope, &message, &timeouts);

    // --- Step 4 ------------------------------------------------------------------------
    println!();
    println!("== Step 4: what happened to each recipient");
    let outcomes = outcomes.map_err(|e| {
        // No recipient was decided: the server refused the whole session (a 4xx or 5xx
        // greeting, EHLO and HELO both refused), or the connection broke before MAIL's
        // reply. The relay would try the next host, then retry later.
        format!("the session with {host} ended before any recipient was decided: {e}")
    })?;
    let mut all_delivered = true;
    for (rcpt, outcome) in recipients.iter().zip(&outcomes) {
        match outcome {
            // RFC 5321 §6.1: with this 250 the message is the server's responsibility.
            RecipientOutcome::Delivered(reply) => {
                println!("   <{rcpt}>: delivered to {host}: {reply}")
            }
            RecipientOutcome::Deferred(why) => {
                all_delivered = false;
                println!("   <{rcpt}>: deferred: {why}");
                println!("      (a 4xx or a lost connection: the relay would retry later)");
            }
            RecipientOutcome::Failed(reply) => {
                all_delivered = false;
                println!("   <{rcpt}>: failed: {reply}");
                println!(
                    "      (a 5xx: the relay would give up and bounce to <{}>)",
                    args.from
                );
            }
        }
    }
    if all_delivered {
        Ok(())
    } else {
        Err("the message was not delivered".to_string())
    }
}

/// The message itself (RFC 5322): a header section, an empty line, the body; CRLF line
/// endings, as SMTP wants them. The client dot-stuffs it on the way out (§4.5.2).
fn compose(args: &Args, my_name: &str) -> Vec<u8> {
    let now = time::OffsetDateTime::now_utc();
    let unique = format!("{}.{}", now.unix_timestamp_nanos(), std::process::id());
    let text = format!(
        "From: <{from}>\r\n\
         To: <{to}>\r\n\
         Subject: {subject}\r\n\
         Date: {date}\r\n\
         Message-ID: <{unique}@{my_name}>\r\n\
         \r\n\
         This message was sent by postie's send_mail example, step by step.\r\n\
         .A line that starts with a dot travels as \"..\" and arrives as one dot.\r\n",
        from = args.from,
        to = args.to,
        // One line only: a CR or LF in the subject would start a header field of its own.
        subject = args.subject.replace(['\r', '\n'], " "),
        date = rfc5322_date(now),
    );
    text.into_bytes()
}

/// Prints the client's dialogue trace (target `postie::trace`, as `postie --trace`
/// does) on standard output, between our own lines; other log records only from
/// warnings up (RUST_LOG overrides).
fn init_trace() {
    let mut builder =
        env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn"));
    builder.filter_module(TRACE, log::LevelFilter::Trace);
    builder.target(env_logger::Target::Stdout);
    builder.format(|out, record| {
        if record.target() == TRACE {
            writeln!(out, "   {}", record.args())
        } else {
            writeln!(out, "   [{}] {}", record.level(), record.args())
        }
    });
    builder.init();
}

/// This machine's name for EHLO, or `localhost` if it has none.
fn machine_hostname() -> String {
    dns_lookup::get_hostname()
        .ok()
        .filter(|name| parse_domain(name).is_ok())
        .unwrap_or_else(|| "localhost".to_string())
}
