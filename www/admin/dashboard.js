/*
 * dashboard.js: the admin dashboard (GET /admin/).  Plain DOM, no
 * framework, nothing from another host.
 *
 * Rules this file keeps:
 * - Every value that comes from the server is put in the page with
 *   textContent or an SVG attribute, never as markup (a job's last_error
 *   may hold anything; the CSP is the second line, not the first).
 * - The admin token lives in sessionStorage (this tab only) and travels
 *   only in the Authorization header: never in a URL, a cookie or a form
 *   submission.  A 401 forgets it, hides every number and says so.
 * - The page refreshes every REFRESH_MS while it is visible; a hidden tab
 *   sends nothing.
 */
"use strict";

(function () {
  var TOKEN_KEY = "catalog-admin-token";
  var REFRESH_MS = 5000;
  var DEAD_PAGE = 50;
  var timer = null;
  var paused = false;
  var inFlight = false;
  var again = false;	/* a refresh was asked for while one ran */

  function $(id) { return document.getElementById(id); }

  function token() { return sessionStorage.getItem(TOKEN_KEY); }

  function setText(id, value) { $(id).textContent = String(value); }

  function showError(message) {
    var e = $("error");
    e.textContent = message;
    e.hidden = false;
  }

  function clearError() {
    $("error").hidden = true;
    $("error").textContent = "";
  }

  /* A refused token: nothing stays on screen that it fetched. */
  function AuthError() {}

  /* GET or POST path with the token; resolves the decoded JSON body. */
  function api(method, path) {
    return fetch(path, {
      method: method,
      headers: { "Authorization": "Bearer " + token(), "Accept": "application/json" },
      cache: "no-store",
      credentials: "omit",
      referrerPolicy: "no-referrer"
    }).then(function (res) {
      if (res.status === 401)
        throw new AuthError();
      return res.json().then(function (body) {
        if (!res.ok) {
          var err = new Error(body && body.detail ? body.detail : "HTTP " + res.status);
          err.status = res.status;
          throw err;
        }
        return body;
      });
    });
  }

  function formatCount(n) { return Number(n).toLocaleString("en-US"); }

  function formatAge(seconds) {
    if (seconds < 1) return seconds > 0 ? "< 1 s" : "none due";
    if (seconds < 120) return Math.round(seconds) + " s";
    if (seconds < 7200) return Math.round(seconds / 60) + " min";
    return (seconds / 3600).toFixed(1) + " h";
  }

  function formatTime(iso) {
    /* "2024-05-01T12:34:56.123456Z" -> "2024-05-01 12:34:56 UTC" */
    return typeof iso === "string" ? iso.replace("T", " ").replace(/\.\d+Z$/, " UTC") : "";
  }

  /* --- stats --------------------------------------------------------- */

  function renderStats(s) {
    setText("count-pending", formatCount(s.jobs.pending));
    setText("count-running", formatCount(s.jobs.running));
    setText("count-done", formatCount(s.jobs.done));
    setText("count-dead", formatCount(s.jobs.dead));
    setText("oldest-due", formatAge(s.oldest_due_age_seconds));
    setText("dead-letters", formatCount(s.dead_letters));
    var c = s.cache, lookups = c.hits + c.misses;
    setText("cache-hits", formatCount(c.hits));
    setText("cache-misses", formatCount(c.misses));
    setText("cache-bypass", formatCount(c.bypass));
    var ratio = lookups > 0 ? c.hits / lookups : 0;
    setText("cache-ratio", lookups > 0 ? (ratio * 100).toFixed(1) + " %" : "no lookups yet");
    $("ratio-bar").style.width = (ratio * 100).toFixed(1) + "%";
    renderChart(s.throughput || []);
  }

  var SVG = "http://www.w3.org/2000/svg";

  function svg(name, attrs, parent) {
    var el = document.createElementNS(SVG, name);
    Object.keys(attrs).forEach(function (k) { el.setAttribute(k, String(attrs[k])); });
    if (parent) parent.appendChild(el);
    return el;
  }

  /* Stacked bars, one per minute: done, retried, dead. */
  function renderChart(minutes) {
    var W = 1000, H = 200, left = 36, bottom = 22, top = 8;
    var plotW = W - left - 6, plotH = H - bottom - top;
    var max = 1, totals = { done: 0, retried: 0, dead: 0 };
    minutes.forEach(function (m) {
      max = Math.max(max, m.done + m.retried + m.dead);
      totals.done += m.done; totals.retried += m.retried; totals.dead += m.dead;
    });
    var root = svg("svg", { viewBox: "0 0 " + W + " " + H, role: "img",
      "aria-label": "jobs per minute over the last hour" });
    svg("line", { x1: left, y1: top + plotH, x2: W - 6, y2: top + plotH, "class": "axis" }, root);
    svg("line", { x1: left, y1: top, x2: W - 6, y2: top, "class": "axis" }, root);
    svg("text", { x: left - 6, y: top + 10, "text-anchor": "end" }, root).textContent = String(max);
    svg("text", { x: left - 6, y: top + plotH, "text-anchor": "end" }, root).textContent = "0";
    var n = minutes.length || 60, step = plotW / n, barW = Math.max(1, step - 2);
    minutes.forEach(function (m, i) {
      var x = left + i * step + 1, y = top + plotH;
      [["done", m.done], ["retried", m.retried], ["dead", m.dead]].forEach(function (part) {
        if (part[1] <= 0) return;
        var h = part[1] / max * plotH;
        y -= h;
        var r = svg("rect", { x: x.toFixed(1), y: y.toFixed(1), width: barW.toFixed(1),
          height: h.toFixed(1), "class": "bar-" + part[0] }, root);
        svg("title", {}, r).textContent = m.minute + ": " + part[1] + " " + part[0];
      });
    });
    [[0, "-60 min"], [n / 2, "-30 min"], [n, "now"]].forEach(function (t) {
      svg("text", { x: (left + t[0] * step).toFixed(1), y: H - 4,
        "text-anchor": t[0] === 0 ? "start" : t[0] === n ? "end" : "middle" }, root).textContent = t[1];
    });
    $("chart").replaceChildren(root);
    setText("chart-total", "Last hour: " + formatCount(totals.done) + " done, " +
      formatCount(totals.retried) + " waiting for a retry, " + formatCount(totals.dead) + " dead.");
  }

  /* --- dead jobs ----------------------------------------------------- */

  function cell(row, text, cls) {
    var td = document.createElement("td");
    td.textContent = text;
    if (cls) td.className = cls;
    row.appendChild(td);
    return td;
  }

  function renderDead(list) {
    var rows = list.items.map(function (job) {
      var tr = document.createElement("tr");
      tr.dataset.job = String(job.id);
      cell(tr, "#" + job.id, "num");
      cell(tr, job.type);
      cell(tr, job.idempotency_key, "mono");
      cell(tr, job.attempts + " / " + job.max_attempts, "num");
      cell(tr, formatTime(job.updated_at));
      cell(tr, job.last_error === null ? "" : job.last_error, "error-text");
      var b = document.createElement("button");
      b.type = "button";
      b.className = "replay";
      b.textContent = "Replay";
      b.addEventListener("click", function () { replay(job.id, b); });
      cell(tr, "").appendChild(b);
      return tr;
    });
    $("dead-rows").replaceChildren.apply($("dead-rows"), rows);
    $("dead-empty").hidden = list.total > 0;
    setText("dead-total", list.total > list.items.length ?
      "newest " + list.items.length + " of " + formatCount(list.total) :
      formatCount(list.total) + " job" + (list.total === 1 ? "" : "s"));
  }

  function replay(id, button) {
    if (!window.confirm("Replay job #" + id + "? It goes back to pending with its attempts reset."))
      return;
    button.disabled = true;
    api("POST", "/api/admin/jobs/" + id + "/replay").then(function () {
      clearError();
      refresh();
    }).catch(function (err) {
      button.disabled = false;
      failed(err);
    });
  }

  /* --- order lookup -------------------------------------------------- */

  function badge(id, state) {
    var el = $(id), span = document.createElement("span");
    span.className = "badge " + state;
    span.textContent = state;
    el.replaceChildren(span);
  }

  function lookupOrder(ev) {
    ev.preventDefault();
    var raw = $("order-id").value.trim();
    $("order-result").hidden = true;
    if (!/^[1-9][0-9]{0,18}$/.test(raw)) {
      setText("order-message", "An order id is a positive whole number.");
      return;
    }
    setText("order-message", "Looking up order " + raw + "…");
    Promise.all([
      api("GET", "/api/orders/" + raw),
      api("GET", "/api/admin/jobs?key=order-confirmation-" + raw)
    ]).then(function (r) {
      var order = r[0], job = r[1].items[0];
      badge("order-confirmation", order.confirmation);
      setText("order-status", order.status);
      setText("order-job", job ? "#" + job.id + " (" + job.status + ")" : "none");
      setText("order-attempts", job ? job.attempts + " / " + job.max_attempts : "");
      setText("order-error", job && job.last_error !== null ? job.last_error : "");
      setText("order-message", "");
      $("order-result").hidden = false;
    }).catch(function (err) {
      if (err && err.status === 404) {
        setText("order-message", "No order " + raw + ".");
        return;
      }
      failed(err);
    });
  }

  /* --- refresh loop -------------------------------------------------- */

  function stamp() {
    setText("refreshed", (paused ? "paused · " : "") + "updated " +
      new Date().toLocaleTimeString("en-GB"));
  }

  function failed(err) {
    if (err instanceof AuthError) {
      logout("The admin token was refused (401). Type the token again.");
      return;
    }
    showError("Could not refresh: " + (err && err.message ? err.message : String(err)));
  }

  function refresh() {
    if (!token())
      return;
    if (inFlight) {
      again = true;
      return;
    }
    inFlight = true;
    Promise.all([
      api("GET", "/api/admin/stats"),
      api("GET", "/api/admin/jobs?status=dead&per_page=" + DEAD_PAGE)
    ]).then(function (r) {
      if (!token())
        return;
      renderStats(r[0]);
      renderDead(r[1]);
      clearError();
      $("data").hidden = false;
      $("login").hidden = true;
      $("logout").hidden = false;
      $("pause").hidden = false;
      document.body.dataset.loaded = "1";
      stamp();
    }).catch(failed).then(function () {
      inFlight = false;
      if (again) {
        again = false;
        refresh();
      }
    });
  }

  function schedule() {
    if (timer !== null) {
      clearInterval(timer);
      timer = null;
    }
    if (token() && !paused && !document.hidden)
      timer = setInterval(refresh, REFRESH_MS);
  }

  /* Forgets the token and everything it showed. */
  function logout(message) {
    sessionStorage.removeItem(TOKEN_KEY);
    schedule();
    $("data").hidden = true;
    ["count-pending", "count-running", "count-done", "count-dead", "oldest-due",
      "dead-letters", "cache-hits", "cache-misses", "cache-bypass", "cache-ratio"
    ].forEach(function (id) { setText(id, "–"); });
    $("dead-rows").replaceChildren();
    $("chart").replaceChildren();
    $("order-result").hidden = true;
    delete document.body.dataset.loaded;
    $("login").hidden = false;
    $("logout").hidden = true;
    $("pause").hidden = true;
    setText("refreshed", "");
    if (message) showError(message); else clearError();
    $("token").focus();
  }

  function login(ev) {
    ev.preventDefault();
    var t = $("token").value.trim();
    $("token").value = "";
    if (t === "")
      return;
    sessionStorage.setItem(TOKEN_KEY, t);
    clearError();
    refresh();
    schedule();
  }

  document.addEventListener("DOMContentLoaded", function () {
    $("login").addEventListener("submit", login);
    $("order-form").addEventListener("submit", lookupOrder);
    $("logout").addEventListener("click", function () { logout(null); });
    $("pause").addEventListener("click", function () {
      paused = !paused;
      $("pause").textContent = paused ? "Resume" : "Pause";
      schedule();
      if (!paused) refresh(); else stamp();
    });
    document.addEventListener("visibilitychange", function () {
      schedule();
      if (!document.hidden && !paused) refresh();
    });
    if (token()) {
      $("login").hidden = true;
      refresh();
      schedule();
    } else {
      $("token").focus();
    }
  });
})();
