// The needs-attention feed refreshes its list every few seconds without reloading the page: a GET
// of the same URL with the X-Anchor-Refresh header answers with the list's fragment only.
// It stops once the staff member has been idle for the session's idle limit (so an open tab
// never keeps a session alive), and when the session has ended (the answer is the login page).
(function () {
  "use strict";
  var feed = document.getElementById("attention-feed");
  if (!feed || !window.fetch) {
    return;
  }
  var every = 1000 * (parseInt(feed.getAttribute("data-refresh-seconds"), 10) || 30);
  var idleLimit = 1000 * (parseInt(feed.getAttribute("data-idle-seconds"), 10) || 1800);
  var lastActive = Date.now();
  var timer = null;
  ["keydown", "pointerdown", "scroll", "touchstart"].forEach(function (name) {
    window.addEventListener(name, function () { lastActive = Date.now(); }, { passive: true });
  });

  function note(text) {
    var status = feed.querySelector(".anchor-attention-checked");
    if (status) {
      status.textContent = text;
    }
  }

  function refresh() {
    if (Date.now() - lastActive > idleLimit) {
      window.clearInterval(timer);
      note("Automatic refresh stopped while you were away; reload the page to see the latest.");
      return;
    }
    if (document.visibilityState === "hidden") {
      return;
    }
    window.fetch(window.location.href, {
      headers: { "X-Anchor-Refresh": "1" },
      credentials: "same-origin",
      cache: "no-store",
    }).then(function (response) {
      if (response.redirected || !response.ok) {
        window.clearInterval(timer);
        note(response.redirected
          ? "Your session has ended; reload the page to sign in again."
          : "The list could not be refreshed; reload the page to try again.");
        return null;
      }
      return response.text();
    }).then(function (html) {
      if (html !== null && html !== undefined) {
        feed.innerHTML = html;
      }
    }).catch(function () {
      note("The list could not be refreshed (no connection); it will try again.");
    });
  }

  timer = window.setInterval(refresh, every);
})();
