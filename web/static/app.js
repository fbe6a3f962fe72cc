// Small progressive enhancements; every page works without JavaScript.
document.addEventListener("submit", function (ev) {
  var form = ev.target;
  var msg = form.getAttribute("data-confirm");
  if (msg && !window.confirm(msg)) { ev.preventDefault(); return; }
  var btn = form.querySelector("button[type=submit]");
  if (btn) { setTimeout(function () { btn.disabled = true; }, 0); }
});
document.addEventListener("change", function (ev) {
  var el = ev.target;
  if (el.form && el.form.hasAttribute("data-autosubmit") && el.tagName === "SELECT") { el.form.submit(); }
});
