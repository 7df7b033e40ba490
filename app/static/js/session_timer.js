/* The idle-expiry notice on every logged-in page. The server ends a session after
   SESSION_IDLE_MINUTES without a request; a user typing into a long form made none and lost
   the input. SESSION_WARN_SECONDS before the end this shows a notice (role="alertdialog",
   focused) with 「ログインを続ける」, which POSTs /session/extend; once the session has ended it
   says so and links to the login page. Asking /session/remaining is not activity (the server
   marks it passive), so another tab's work is seen and this page's timer never keeps a
   session alive on its own. */
(function () {
  "use strict";
  var root = document.getElementById("session-timer");
  if (!root || !window.fetch) { return; }
  var data = root.dataset;
  var warnSeconds = parseInt(data.warnSeconds, 10) || 300;
  var deadline = 0;  // Date.now() at which the session ends
  var timer = null;
  var ticker = null;
  var notice = null;
  var returnTo = null;

  function later(fn, seconds) {
    window.clearTimeout(timer);
    timer = window.setTimeout(fn, Math.max(0, seconds) * 1000);
  }

  function secondsLeft() { return Math.max(0, Math.round((deadline - Date.now()) / 1000)); }

  function planFrom(answer) {
    var seconds = answer && typeof answer.seconds === "number" ? answer.seconds : 0;
    if (seconds <= 0) { expired(); return; }
    deadline = Date.now() + seconds * 1000;
    if (seconds > warnSeconds) {
      hide();
      later(check, seconds - warnSeconds);
    } else {
      warn();
      later(check, seconds + 1);  // at the end: ended, or extended meanwhile in another tab
    }
  }

  function check() {
    fetch(data.remainingUrl, {credentials: "same-origin", headers: {Accept: "application/json"}})
      .then(function (response) {
        if (response.headers.get("Content-Type") === "application/json") { return response.json(); }
        // Not the timer's answer: ended only if it led to the login page; otherwise unknown
        return response.redirected && new URL(response.url).pathname === new URL(data.loginUrl, location.href).pathname
          ? {seconds: 0} : null;
      })
      .then(function (answer) { if (answer) { planFrom(answer); } else { later(check, 60); } })
      .catch(function () { later(check, 30); });  // offline for a moment: ask again
  }

  function build() {
    if (notice) { return notice; }
    returnTo = document.activeElement;
    notice = document.createElement("div");
    notice.id = "session-notice";
    notice.className = "os-session-notice";
    notice.setAttribute("role", "alertdialog");
    notice.setAttribute("aria-labelledby", "session-notice-title");
    notice.setAttribute("aria-describedby", "session-notice-text");
    notice.tabIndex = -1;
    var title = document.createElement("h2");
    title.id = "session-notice-title";
    title.className = "h4";
    title.textContent = data.title;
    var text = document.createElement("p");
    text.id = "session-notice-text";
    var actions = document.createElement("div");
    actions.className = "os-dialog-actions";
    notice.appendChild(title);
    notice.appendChild(text);
    notice.appendChild(actions);
    document.body.appendChild(notice);
    return notice;
  }

  function say(message) { build().querySelector("#session-notice-text").textContent = message; }

  function actions() { return build().querySelector(".os-dialog-actions"); }

  function showMinutes() {
    var minutes = Math.max(1, Math.ceil(secondsLeft() / 60));
    say(data.warning.replace("{m}", String(minutes)));
  }

  function warn() {
    var fresh = !notice;
    showMinutes();
    if (fresh) {
      var button = document.createElement("button");
      button.type = "button";
      button.id = "session-continue";
      button.className = "btn btn-primary";
      button.textContent = data.continue;
      button.addEventListener("click", extend);
      actions().appendChild(button);
      button.focus();
    }
    window.clearInterval(ticker);
    ticker = window.setInterval(showMinutes, 5000);
  }

  function hide() {
    window.clearInterval(ticker);
    if (!notice) { return; }
    var hadFocus = notice.contains(document.activeElement);
    notice.parentNode.removeChild(notice);
    notice = null;
    if (hadFocus && returnTo && typeof returnTo.focus === "function") { returnTo.focus(); }
  }

  function expired() {
    window.clearTimeout(timer);
    window.clearInterval(ticker);
    var wasShown = !!notice;
    say(data.expired);
    var box = actions();
    box.innerHTML = "";
    var link = document.createElement("a");
    link.id = "session-login";
    link.className = "btn btn-primary";
    link.href = data.loginUrl;
    link.textContent = data.login;
    box.appendChild(link);
    if (!wasShown || notice.contains(document.activeElement)) { link.focus(); }
  }

  function extend() {
    fetch(data.extendUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: {Accept: "application/json", "X-CSRFToken": data.csrf}
    }).then(function (response) {
      if (response.status === 401) { return {seconds: 0}; }
      if (!response.ok) { say(data.failed); return null; }
      return response.json();
    }).then(function (answer) {
      if (answer) { planFrom(answer); }
    }).catch(function () { say(data.failed); });
  }

  // Timers sleep with a background tab or a closed laptop: look again when the page is back.
  document.addEventListener("visibilitychange", function () { if (!document.hidden) { check(); } });
  check();
}());
