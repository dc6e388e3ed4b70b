// The event form: show only the inputs that apply: no times or zone for an all-day event, the
// days for a weekly rule, the last day or the count for the ending chosen.
(function () {
  function byId(id) { return document.getElementById(id); }
  function field(id) { var el = byId(id); return el && el.closest(".field"); }
  function show() {
    var allDay = byId("id_all_day").checked, repeat = byId("id_repeat"), ends = byId("id_ends");
    document.querySelectorAll(".field.timed").forEach(function (el) { el.hidden = allDay; });
    if (!repeat) return;
    var repeats = repeat.value !== "" && repeat.value !== "KEEP";
    field("id_weekdays_0").hidden = repeat.value !== "WEEKLY";
    field("id_ends").hidden = !repeats;
    field("id_until").hidden = !repeats || ends.value !== "until";
    field("id_count").hidden = !repeats || ends.value !== "count";
  }
  var form = document.querySelector("form.planner-form");
  if (!form) return;
  form.addEventListener("change", show);
  show();
})();
