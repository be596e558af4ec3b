// postie's only script: live updates on the message list, and a question before a
// delete. Everything a message says is put in the page with textContent, never as
// HTML, so nothing in a subject or a name can become markup.
"use strict";

function cell(text, className) {
  const td = document.createElement("td");
  if (className) td.className = className;
  td.textContent = text;
  return td;
}

function show(address) {
  if (!address) return "";
  if (address.Name && address.Address) return address.Name + " <" + address.Address + ">";
  return address.Name || address.Address || "";
}

function size(octets) {
  if (octets < 1024) return octets + " B";
  if (octets < 1024 * 1024) return (octets / 1024).toFixed(1) + " KiB";
  return (octets / (1024 * 1024)).toFixed(1) + " MiB";
}

// One row, as the server renders them in list.html.
function row(message) {
  const tr = document.createElement("tr");
  tr.className = message.Read ? "" : "unread fresh";
  tr.appendChild(cell(show(message.From)));
  tr.appendChild(cell((message.To || []).map(show).join(", ")));
  const subject = document.createElement("td");
  const link = document.createElement("a");
  link.href = "/message/" + encodeURIComponent(message.ID).replace(/%40/g, "@").replace(/%3A/g, ":");
  link.textContent = message.Subject || "(no subject)";
  subject.appendChild(link);
  tr.appendChild(subject);
  tr.appendChild(cell((message.Created || "").slice(0, 16).replace("T", " "), "date"));
  tr.appendChild(cell(size(message.Size), "num"));
  return tr;
}

function live(table) {
  const body = table.querySelector("tbody");
  const counts = document.getElementById("counts");
  const badge = document.getElementById("live");
  const events = new EventSource("/api/v1/events");
  events.addEventListener("open", () => { if (badge) badge.hidden = false; });
  events.addEventListener("error", () => { if (badge) badge.hidden = true; });
  events.addEventListener("new", (event) => {
    const message = JSON.parse(event.data);
    body.insertBefore(row(message), body.firstChild);
    const empty = document.getElementById("empty");
    if (empty) empty.remove();
    if (counts) {
      const total = Number(counts.dataset.total) + 1;
      const unread = Number(counts.dataset.unread) + (message.Read ? 0 : 1);
      counts.dataset.total = total;
      counts.dataset.unread = unread;
      counts.firstChild.textContent = total + " messages, " + unread + " unread. ";
    }
  });
}

document.addEventListener("DOMContentLoaded", () => {
  const table = document.getElementById("messages");
  if (table && table.dataset.live === "1") live(table);
  for (const form of document.querySelectorAll("form[data-confirm]")) {
    form.addEventListener("submit", (event) => {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  }
});

// Meetings: the week in the reader's own time zone (the server needs to be told it),
// and each <time class="local"> written in local time.
(function () {
  const zone = (Intl.DateTimeFormat().resolvedOptions() || {}).timeZone;
  const week = document.querySelector("section.meetings");
  if (week && zone && !new URLSearchParams(location.search).has("tz") && week.dataset.zone !== zone) {
    const params = new URLSearchParams(location.search);
    params.set("tz", zone);
    location.replace("/meetings?" + params.toString());
    return;
  }
  for (const t of document.querySelectorAll("time.local")) {
    const at = new Date(t.getAttribute("datetime"));
    if (isNaN(at)) continue;
    t.textContent = at.toLocaleString(undefined, {
      weekday: "long", day: "numeric", month: "long", year: "numeric", hour: "2-digit", minute: "2-digit", timeZoneName: "short",
    }) + " (your time; " + t.textContent + ")";
  }
})();
