// The QA station's only script, served by the binary. Page-by-page viewing, zoom and the
// keys; everything still works without it (all pages shown, buttons submit the form).
"use strict";
document.documentElement.classList.add("js");
document.addEventListener("DOMContentLoaded", function () {
  var pages = Array.prototype.slice.call(document.querySelectorAll(".page"));
  var current = 0;
  var zoom = 1;
  var byId = function (id) { return document.getElementById(id); };
  function show(i) {
    if (!pages.length) { return; }
    current = Math.max(0, Math.min(pages.length - 1, i));
    pages.forEach(function (p, k) { p.classList.toggle("current", k === current); });
    var pos = byId("pagepos");
    if (pos) { pos.textContent = "page " + (current + 1) + " of " + pages.length; }
    pages[current].scrollIntoView({ block: "nearest" });
  }
  function setZoom(z) {
    zoom = Math.max(0.5, Math.min(4, z));
    document.documentElement.style.setProperty("--zoom", String(zoom));
    var zp = byId("zoompos");
    if (zp) { zp.textContent = Math.round(zoom * 100) + " %"; }
  }
  function click(id) { var el = byId(id); if (el && !el.disabled) { el.click(); } }
  show(0);
  var bind = function (id, f) { var el = byId(id); if (el) { el.addEventListener("click", f); } };
  bind("prevpage", function () { show(current - 1); });
  bind("nextpage", function () { show(current + 1); });
  bind("zoomin", function () { setZoom(zoom * 1.25); });
  bind("zoomout", function () { setZoom(zoom / 1.25); });
  bind("zoomfit", function () { setZoom(1); });

  // Without --inspector the pseudonym is typed once and remembered by this browser.
  var insp = byId("inspector");
  if (insp) {
    try { insp.value = insp.value || localStorage.getItem("resiscan.inspector") || ""; } catch (e) {}
    insp.addEventListener("change", function () {
      try { localStorage.setItem("resiscan.inspector", insp.value); } catch (e) {}
    });
  }
  var form = byId("decide");
  if (form) {
    // One decision per page load: a double press must not send two.
    form.addEventListener("submit", function (ev) {
      if (insp && !insp.value.trim()) { ev.preventDefault(); insp.focus(); return; }
      if (form.dataset.sent) { ev.preventDefault(); return; }
      form.dataset.sent = "1";
    });
  }

  document.addEventListener("keydown", function (ev) {
    var t = ev.target;
    var typing = t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA");
    if (typing) {
      if (ev.key === "Escape") { t.blur(); }
      return;
    }
    if (ev.ctrlKey || ev.metaKey || ev.altKey) { return; }
    switch (ev.key) {
      case "ArrowRight": case "PageDown": case "j": show(current + 1); break;
      case "ArrowLeft": case "PageUp": case "k": show(current - 1); break;
      case "Home": show(0); break;
      case "End": show(pages.length - 1); break;
      case "+": case "=": setZoom(zoom * 1.25); break;
      case "-": setZoom(zoom / 1.25); break;
      case "0": setZoom(1); break;
      case "o": click("ok"); break;
      case "r": var r = byId("reason"); if (r) { r.focus(); } break;
      case "n": click("nextdoc"); break;
      case "p": click("prevdoc"); break;
      case "?": var h = byId("help"); if (h) { h.hidden = !h.hidden; } break;
      default: return;
    }
    ev.preventDefault();
  });
});
