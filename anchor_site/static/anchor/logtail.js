// The deployment page's live tail: while a deployment is queued or building, ask the console
// every few seconds for the log's whole lines past the last offset and append them; when the
// deployment's status changes, show it and its timeline; at a final status, stop. No framework, no inline script (the CSP
// forbids both): the page's #anchor-live element carries the endpoint, offset and ETag. Text
// arrives as [classes, text] pairs and is set with textContent, so a log cannot inject markup.
(function () {
  "use strict";
  var live = document.getElementById("anchor-live");
  if (!live || !document.getElementById("anchor-log-box")) return;
  var box = document.getElementById("anchor-log-box");
  var pre = box && box.querySelector("pre.anchor-log");
  var missing = document.getElementById("anchor-log-missing");
  var text = live.querySelector(".anchor-live-text");
  var url = live.getAttribute("data-tail-url");
  var offset = parseInt(live.getAttribute("data-offset"), 10) || 0;
  var etag = live.getAttribute("data-etag") || "";
  var mark = live.getAttribute("data-mark") || "";
  var period = (parseInt(live.getAttribute("data-poll-seconds"), 10) || 3) * 1000;
  var MAX_LINES = 5000; // the panel keeps the newest lines; the viewer has the whole log
  var failures = 0;
  var received = 0; // lines this script appended
  var shown = live.getAttribute("data-status") || ""; // the status the page shows

  function size(bytes) {
    if (bytes < 1024) return bytes + " bytes";
    if (bytes < 1024 * 1024) return (bytes / 1024).toFixed(1) + " KB";
    return (bytes / 1024 / 1024).toFixed(1) + " MB";
  }

  function summarise() {
    var summary = document.querySelector(".anchor-log-summary");
    if (!summary || !received) return;
    summary.textContent =
      "The log as it arrives: " + received + " new line" + (received === 1 ? "" : "s") +
      " since the page loaded; " + size(offset) + " in all.";
  }

  function say(message, state) {
    text.textContent = message;
    live.classList.remove("anchor-live-on", "anchor-live-done");
    if (state) live.classList.add(state);
  }

  function append(lines) {
    if (!lines.length) return;
    var fragment = document.createDocumentFragment();
    lines.forEach(function (segments) {
      var row = document.createElement("span");
      row.className = "anchor-ll";
      segments.forEach(function (segment) {
        if (segment[0]) {
          var span = document.createElement("span");
          span.className = segment[0];
          span.textContent = segment[1];
          row.appendChild(span);
        } else {
          row.appendChild(document.createTextNode(segment[1]));
        }
      });
      fragment.appendChild(row);
      fragment.appendChild(document.createTextNode("\n"));
    });
    pre.appendChild(fragment);
    while (pre.childNodes.length > MAX_LINES * 2) {
      pre.removeChild(pre.firstChild);
    }
    box.hidden = false;
    if (missing) missing.hidden = true;
    received += lines.length;
  }

  function showStatus(status) {
    if (status === shown) return;
    shown = status;
    var holder = document.getElementById("anchor-status");
    if (holder) {
      var badge = document.createElement("span");
      badge.className = "badge badge-" + status;
      badge.textContent = status;
      holder.replaceChildren(badge);
    }
  }

  // The timeline (started, ended, duration) as the console renders it now: HTML made by the
  // console's own template, escaped there, never text from the log.
  function showTimeline(html) {
    var current = document.querySelector(".anchor-timeline");
    if (!current || !html) return;
    var holder = document.createElement("div");
    holder.innerHTML = html;
    var fresh = holder.querySelector(".anchor-timeline");
    if (fresh) current.replaceWith(fresh);
  }

  function finish(status) {
    showStatus(status);
    document.querySelectorAll(".anchor-action-cancel, .anchor-action-fail").forEach(function (a) {
      a.parentNode.removeChild(a);
    });
    say("The deployment is " + status + " now; the log above is complete.", "anchor-live-done");
    live.setAttribute("data-status", status);
    var reload = live.querySelector(".anchor-live-reload");
    if (reload) reload.textContent = "Reload the page";
  }

  function poll() {
    var query =
      "?offset=" + encodeURIComponent(offset) +
      "&etag=" + encodeURIComponent(etag) +
      "&mark=" + encodeURIComponent(mark);
    fetch(url + query, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        var type = response.headers.get("Content-Type") || "";
        if (!response.ok || type.indexOf("application/json") !== 0) {
          throw new Error("HTTP " + response.status);
        }
        return response.json();
      })
      .then(function (data) {
        failures = 0;
        if (data.state === "replaced") {
          // Another log than the one shown (not merely a longer one): start over from byte 0.
          pre.replaceChildren();
          received = 0;
          offset = 0;
          etag = "";
          mark = "";
          return setTimeout(poll, 0);
        }
        if (data.state === "lines") {
          append(data.lines);
          offset = data.offset;
          etag = data.etag;
          mark = data.mark;
        }
        live.setAttribute("data-offset", String(offset));
        summarise();
        if (data.status !== shown) showTimeline(data.timeline);
        if (!data.final) showStatus(data.status);
        if (data.more) return setTimeout(poll, 0);
        if (data.final) return finish(data.status);
        say("Following the log live: new lines appear every " + period / 1000 + " s.", "anchor-live-on");
        setTimeout(poll, period);
      })
      .catch(function (error) {
        failures += 1;
        if (failures >= 5) {
          say("Live updates stopped (" + error.message + ").", "anchor-live-done");
          return;
        }
        say("Live updates paused (" + error.message + "); trying again.", null);
        setTimeout(poll, period * failures);
      });
  }

  say("Following the log live: new lines appear every " + period / 1000 + " s.", "anchor-live-on");
  poll();
})();
