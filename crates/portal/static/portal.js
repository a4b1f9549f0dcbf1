// claimd portal: optional help while typing a new password. The pages work without it; the
// server checks everything again. No data leaves the page.
(function () {
  "use strict";
  var es = document.documentElement.lang === "es";
  var text = es ? {
    min: function (min, length) { return "Al menos " + min + " caracteres (" + length + " hasta ahora)."; },
    max: "Como máximo 128 caracteres.",
    differ: "Las dos contraseñas todavía no coinciden.",
    good: "La longitud y la confirmación se ven bien."
  } : {
    min: function (min, length) { return "At least " + min + " characters (" + length + " so far)."; },
    max: "At most 128 characters.",
    differ: "The two passwords are not the same yet.",
    good: "Length and confirmation look right."
  };
  function watch(passwordId, confirmId) {
    var password = document.getElementById(passwordId);
    var confirm = document.getElementById(confirmId);
    if (!password || !confirm) { return; }
    var min = parseInt(password.getAttribute("data-min") || "8", 10);
    var status = document.createElement("p");
    status.className = "live-check";
    status.id = passwordId + "-live";
    status.setAttribute("aria-live", "polite");
    confirm.parentNode.appendChild(status);
    function check() {
      var value = password.value;
      var length = Array.from(value).length;
      var problems = [];
      if (length > 0 && length < min) { problems.push(text.min(min, length)); }
      if (length > 128) { problems.push(text.max); }
      if (confirm.value.length > 0 && confirm.value !== value) { problems.push(text.differ); }
      status.textContent = problems.length ? problems.join(" ") : (length >= min && confirm.value === value ? text.good : "");
    }
    password.addEventListener("input", check);
    confirm.addEventListener("input", check);
  }
  watch("password", "password_confirm");
  watch("new_password", "new_password_confirm");
}());
