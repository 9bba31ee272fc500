// Live alerts (issue 6): Server-Sent Events from /alerts/stream, a flashing banner and a tone.
// Served from the app itself (CSP script-src 'self'); no frameworks.
(function () {
  "use strict";
  const list = document.getElementById("alert-list");
  const banner = document.getElementById("alert-banner");
  const status = document.getElementById("live-status");
  const template = document.getElementById("alert-template");
  const soundButton = document.getElementById("sound-toggle");
  if (!list || !template) return;
  let audio = null;

  soundButton.addEventListener("click", function () {
    // Browsers allow sound only after a user gesture: this click unlocks it.
    audio = audio || new (window.AudioContext || window.webkitAudioContext)();
    soundButton.textContent = "Sound on";
    soundButton.disabled = true;
  });

  function tone() {
    if (!audio) return;
    const osc = audio.createOscillator();
    const gain = audio.createGain();
    osc.frequency.value = 880;
    osc.connect(gain);
    gain.connect(audio.destination);
    gain.gain.setValueAtTime(0.2, audio.currentTime);
    osc.start();
    osc.stop(audio.currentTime + 0.6);
  }

  function image(el, alert, kind) {
    if (alert.images.indexOf(kind) < 0) { el.remove(); return; }
    el.src = "/alerts/" + encodeURIComponent(alert.id) + "/images/" + kind + ".jpg";
    el.alt = (kind === "crop" ? "Plate crop of " : "Frame of ") + alert.plate;
  }

  function show(alert) {
    if (alert.event === "disposition") {
      const card = list.querySelector('[data-alert="' + CSS.escape(alert.id) + '"]');
      if (card) { card.classList.remove("fresh"); card.classList.add("status-closed"); }
      return;
    }
    const node = template.content.firstElementChild.cloneNode(true);
    node.dataset.alert = alert.id;
    const link = node.querySelector(".plate");
    link.textContent = alert.plate;
    link.href = "/alerts/" + encodeURIComponent(alert.id);
    node.querySelector(".verify").href = link.href;
    node.querySelector(".list").textContent = alert.list || "";
    node.querySelector(".reason").textContent = alert.reason;
    let match = alert.match_type + " match";
    if (alert.matched_on === "candidate") match += " on alternative reading " + alert.matched_plate;
    node.querySelector(".match").textContent = match + " · entry " + alert.entry_plate + " · " + (alert.camera_name || "") + " · " + (alert.local || alert.captured_at);
    image(node.querySelector(".crop"), alert, "crop");
    image(node.querySelector(".frame"), alert, "frame");
    list.prepend(node);
    banner.textContent = "HIT: " + alert.plate + " — " + (alert.list || "") + ": " + alert.reason + ". Confirm the plate visually and verify through CLETS before acting.";
    banner.hidden = false;
    banner.classList.remove("flash");
    void banner.offsetWidth; // restart the animation
    banner.classList.add("flash");
    tone();
  }

  const source = new EventSource("/alerts/stream");
  source.addEventListener("ready", function () { status.textContent = "live"; });
  source.addEventListener("alert", function (event) { show(JSON.parse(event.data)); });
  source.onerror = function () { status.textContent = "reconnecting…"; };
})();
