// The npm client `mailpit-api`, unchanged, against postie: every call it makes must
// succeed as it does against Mailpit. Run by tests/web_clients.rs as
//   node mailpit.mjs BASE_URL SMTP_HOST SMTP_PORT
// which prints one "ok NAME" line per check, and exits non-zero on the first failure.
import { MailpitClient } from "mailpit-api";
import net from "node:net";
import assert from "node:assert/strict";

const [base, smtpHost, smtpPort] = process.argv.slice(2);
const mailpit = new MailpitClient(base);

// A message over SMTP, by hand: the client under test only reads.
function send(subject, body) {
  return new Promise((resolve, reject) => {
    const lines = [
      "EHLO node.example",
      "MAIL FROM:<alice@example.org>",
      "RCPT TO:<bob@localhost>",
      "DATA",
      `From: Alice <alice@example.org>\r\nTo: bob@localhost\r\nSubject: ${subject}\r\n\r\n${body}\r\n.`,
      "QUIT",
    ];
    const socket = net.connect(Number(smtpPort), smtpHost);
    let buffer = "";
    let step = -1;
    socket.on("data", (data) => {
      buffer += data.toString();
      // One command per complete reply (the last line has a space after the code).
      while (/^\d{3} .*\r\n/m.test(buffer)) {
        const match = buffer.match(/^\d{3} .*\r\n/m);
        const code = match[0].slice(0, 3);
        buffer = buffer.slice(buffer.indexOf(match[0]) + match[0].length);
        if (code[0] === "4" || code[0] === "5") return reject(new Error(match[0]));
        step += 1;
        if (step < lines.length) socket.write(lines[step] + "\r\n");
      }
    });
    socket.on("close", resolve);
    socket.on("error", reject);
  });
}

function ok(name) {
  console.log("ok " + name);
}

const info = await mailpit.getInfo();
assert.equal(typeof info.Version, "string");
assert.equal(info.Messages, 0);
ok("getInfo");

// waitForMessage polls the search until a message is there: send while it waits.
const waiting = mailpit.waitForMessage({ query: "subject:Welcome" }, { timeout: 10000, interval: 100 });
await send("Welcome", "Hello from node");
const welcome = await waiting;
assert.equal(welcome.Subject, "Welcome");
assert.equal(welcome.From.Address, "alice@example.org");
assert.deepEqual(welcome.Tags, []);
assert.ok(Array.isArray(welcome.Bcc) && Array.isArray(welcome.ReplyTo));
assert.match(welcome.Text, /Hello from node/);
ok("waitForMessage");

await send("Second", "another");
const list = await mailpit.listMessages();
assert.equal(list.total, 2);
assert.equal(list.messages_count, 2);
assert.equal(list.messages[0].Subject, "Second");
assert.deepEqual(list.tags, []);
ok("listMessages");

const page = await mailpit.listMessages(1, 1);
assert.equal(page.messages.length, 1);
assert.equal(page.messages[0].Subject, "Welcome");
ok("listMessages(start, limit)");

const latest = await mailpit.getMessageSummary();
assert.equal(latest.Subject, "Second");
ok("getMessageSummary(latest)");

const headers = await mailpit.getMessageHeaders(welcome.ID);
assert.deepEqual(headers.Subject, ["Welcome"]);
ok("getMessageHeaders");

const source = await mailpit.getMessageSource(welcome.ID);
assert.match(source, /^Return-Path: <alice@example.org>\r\n/);
ok("getMessageSource");

assert.equal(await mailpit.setReadStatus({ IDs: [welcome.ID], Read: false }), "ok");
let found = await mailpit.searchMessages({ query: "is:unread" });
assert.ok(found.messages.some((m) => m.ID === welcome.ID));
assert.equal(await mailpit.setReadStatus({ Read: true }), "ok");
found = await mailpit.searchMessages({ query: "is:unread" });
assert.equal(found.messages_count, 0);
ok("setReadStatus");

const waited = await mailpit.waitForMessages({ count: 2 }, { timeout: 2000, interval: 100 });
assert.equal(waited.messages_count, 2);
ok("waitForMessages");

assert.equal(await mailpit.deleteMessagesBySearch({ query: "subject:Second" }), "ok");
assert.equal((await mailpit.listMessages()).total, 1);
ok("deleteMessagesBySearch");

assert.equal(await mailpit.deleteMessages({ IDs: [welcome.ID] }), "ok");
assert.equal(await mailpit.deleteMessages(), "ok");
assert.equal((await mailpit.listMessages()).total, 0);
ok("deleteMessages");

// What postie does not implement fails as an error, never as a false success.
await assert.rejects(() => mailpit.getTags(), /404/);
ok("unimplemented endpoints are 404");
