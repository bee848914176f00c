// The Sportello's enhancements; every page works without them.
//  - data-autosave forms save the draft a few seconds after a change
//    (the same post as the "Salva" button, without the files), and say so;
//  - a question that applies only to some answers of an earlier one is
//    hidden until it applies;
//  - a button marked data-once cannot send its form twice.
"use strict";
(function () {
  var lang = document.documentElement.lang === "en" ? "en" : "it";
  var savedText = lang === "en" ? "Draft saved at " : "Bozza salvata alle ";
  var failText = lang === "en" ? "The draft could not be saved automatically: use the Save button." : "Salvataggio automatico non riuscito: usa il pulsante Salva richiesta.";

  document.querySelectorAll("form[data-autosave]").forEach(function (form) {
    var status = document.createElement("p");
    status.className = "small text-secondary mt-2";
    status.setAttribute("role", "status");
    status.setAttribute("aria-live", "polite");
    form.appendChild(status);
    var timer = null;
    var save = function () {
      var data = new FormData(form);
      var body = new FormData();
      data.forEach(function (value, key) {
        if (typeof value === "string") { body.append(key, value); }
      });
      body.set("action", "save");
      // getAttribute, not form.action: the form's buttons are named
      // "action", and form.action is then those buttons, not the address.
      fetch(form.getAttribute("action"), { method: "POST", body: body, credentials: "same-origin", headers: { "X-Autosave": "1" } })
        .then(function (res) {
          if (res.status !== 204) { throw new Error(String(res.status)); }
          var now = new Date();
          status.textContent = savedText + String(now.getHours()).padStart(2, "0") + ":" + String(now.getMinutes()).padStart(2, "0");
        })
        .catch(function () { status.textContent = failText; });
    };
    form.addEventListener("input", function (e) {
      if (e.target && e.target.type === "file") { return; }
      clearTimeout(timer);
      timer = setTimeout(save, 3000);
    });
    form.addEventListener("submit", function () { clearTimeout(timer); });
  });

  var conditional = document.querySelectorAll("[data-show-field]");
  var refresh = function () {
    conditional.forEach(function (group) {
      var name = group.getAttribute("data-show-field");
      var wanted = group.getAttribute("data-show-values").split(" ");
      var form = group.closest("form");
      if (!form) { return; }
      var holder = document.getElementById("f-" + name + "-group");
      var shown = !holder || !holder.hidden;
      var chosen = false;
      form.querySelectorAll("[name='" + name + "']").forEach(function (input) {
        if (input.checked && wanted.indexOf(input.value) >= 0) { chosen = true; }
      });
      group.hidden = !(shown && chosen);
    });
  };
  if (conditional.length > 0) {
    document.addEventListener("change", refresh);
    refresh();
    refresh(); // a question shown by a hidden one hides too
  }

  document.querySelectorAll("[data-once]").forEach(function (button) {
    var form = button.form;
    if (!form) { return; }
    form.addEventListener("submit", function () {
      setTimeout(function () { button.disabled = true; }, 0);
    });
  });
})();
