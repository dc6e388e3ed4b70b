// The profile page, until a zone is chosen: offer the browser's own.
(function () {
  var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  var select = document.getElementById("id_timezone");
  var hint = document.getElementById("zone-hint");
  if (zone && select && hint && select.querySelector('option[value="' + zone + '"]')) {
    select.value = zone;
    hint.textContent = "Your browser’s zone, " + zone + ", is chosen: save to use it.";
  }
})();
