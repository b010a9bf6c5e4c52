/* The page of `gapbench play`: renders the server's state; every text goes in through textContent. */
(function () {
  "use strict";
  var el = GapbenchMaze.el, $ = function (id) { return document.getElementById(id); };
  var ENDS = {acti: "ACTI! was said", max_turns: "the turn limit was reached", gave_up: "you gave up", error: "an error ended it"};
  var busy = false, last = null;

  function show(id, on) { $(id).hidden = !on; }

  function problem(text) {
    $("problem").textContent = text || "";
    show("problem", !!text);
  }

  function renderMessages(s) {
    var box = $("messages");
    box.innerHTML = "";
    s.messages.forEach(function (m) {
      var div = el("div", "msg " + m.who);
      div.appendChild(el("span", "who", m.who === "you" ? "You" : "Partner"));
      div.appendChild(document.createTextNode(m.text));
      box.appendChild(div);
    });
    box.scrollTop = box.scrollHeight;
  }

  function outcome(s) {
    var d = s.reveal, g = d.grades[d.primary];
    var result = g.success ? "Success: the route you agreed on reaches the goal." :
      "The goal was not reached (the route " + (g.end === "no_route" ? "was never agreed" : "ended: " + g.end.replace("_", " ")) + ").";
    return result + " Weighted outcome " + g.weighted.toFixed(2) + ", " + g.moves + " moves (shortest: " + g.optimal_moves + "). " +
      "The game ended because " + (ENDS[s.end] || s.end) + ".";
  }

  function render(s) {
    last = s;
    problem(s.problem);
    ["consent", "play", "finished"].forEach(function (id) { show(id, false); });
    $("whoami").textContent = s.participant ? "participant " + s.participant : "";
    if (s.stage === "consent") {
      $("consent-text").textContent = s.consent || "";
      show("consent", true);
      return;
    }
    if (s.stage === "finished") { show("finished", true); return; }
    show("play", true);
    if (s.stage === "ready") {
      show("reveal", true); $("outcome").textContent = ""; $("full-maze").innerHTML = "";
      return;
    }
    $("progress").textContent = "Game " + s.game + " of " + s.games + ": you speak " + s.seat + ". Messages so far: " + s.turns +
      " (at most " + s.max_turns + ").";
    GapbenchMaze.drawGrid($("my-map"), s.map, null, 0);
    $("instructions").textContent = s.instructions;
    renderMessages(s);
    var over = s.stage === "over";
    $("model-error").textContent = s.error || "";
    show("model-error", !!s.error);
    show("retry", !!s.error && !over);
    $("status").textContent = over ? "The game is over." : s.error ? "" : s.your_turn ? "Your turn." : "Your partner is writing...";
    $("say").disabled = $("send").disabled = !s.your_turn || busy;
    $("give-up").disabled = over || busy;
    $("say").maxLength = s.max_chars;
    show("reveal", over);
    if (!over && !s.your_turn && !s.error && !busy) {
      window.setTimeout(function () { if (!busy) request("GET", "/api/state"); }, 2000);  // e.g. reloaded while the model writes
    }
    if (over) {
      GapbenchMaze.drawOutcome($("full-maze"), s.reveal);
      $("outcome").textContent = outcome(s);
      $("next").textContent = s.played < s.games ? "Next game" : "Finish";
    }
  }

  function request(method, url, body) {
    busy = true;
    if (last && last.stage === "play") {
      $("say").disabled = $("send").disabled = $("give-up").disabled = true;
      $("status").textContent = "Your partner is writing...";
    }
    var init = {method: method, credentials: "same-origin", headers: {}};
    if (method === "POST") { init.headers["Content-Type"] = "application/json"; init.body = JSON.stringify(body || {}); }
    return fetch(url, init).then(function (r) {
      var type = r.headers.get("content-type") || "";
      return type.indexOf("application/json") === 0 ? r.json() : r.text().then(function (t) { return {problem: t, stage: last ? last.stage : "consent"}; });
    }).then(function (s) {
      busy = false;
      if (!s.stage) s = Object.assign({}, last || {stage: "consent"}, {problem: s.problem || "the server refused the request"});
      render(s);
    }).catch(function (e) {
      busy = false;
      if (last) render(last);
      problem("cannot reach the server (" + e + ")");
    });
  }

  function send() {
    var text = $("say").value.trim();
    if (!text || busy) return;
    request("POST", "/api/say", {text: text}).then(function () {
      if (last && !last.problem) $("say").value = "";
      updateChars();
    });
  }

  function updateChars() {
    $("chars").textContent = $("say").value.length + " / " + (last ? last.max_chars : "");
  }

  $("begin").addEventListener("click", function () { request("POST", "/api/begin"); });
  $("say-form").addEventListener("submit", function (e) { e.preventDefault(); send(); });
  $("say").addEventListener("keydown", function (e) { if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); send(); } });
  $("say").addEventListener("input", updateChars);
  $("retry").addEventListener("click", function () { request("POST", "/api/retry"); });
  $("give-up").addEventListener("click", function () {
    if (window.confirm("Give up this game? It is recorded as given up.")) request("POST", "/api/give-up");
  });
  $("next").addEventListener("click", function () { request("POST", "/api/next"); });
  request("GET", "/api/state");
})();
