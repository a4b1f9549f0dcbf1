// claimd portal: optional help while typing a new password. The pages work without it; the
// server checks everything again. No data leaves the page.
(function () {
  "use strict";
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
      if (length > 0 && length < min) { problems.push("At least " + min + " characters (" + length + " so far)."); }
      if (length > 128) { problems.push("At most 128 characters."); }
      if (confirm.value.length > 0 && confirm.value !== value) { problems.push("The two passwords are not the same yet."); }
      status.textContent = problems.length ? problems.join(" ") : (length >= min && confirm.value === value ? "Length and confirmation look right." : "");
    }
    password.addEventListener("input", check);
    confirm.addEventListener("input", check);
  }
  watch("password", "password_confirm");
  watch("new_password", "new_password_confirm");
}());
