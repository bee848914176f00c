// Submits, as soon as the page is read, each form marked data-autosubmit:
// a step that asks nothing of the person (Partecipa's logout going on to
// the portal with its id_token in the form's body, never in a URL). It is
// a file of the site's own, as the policy's script-src 'self' requires;
// the form keeps its button for browsers without JavaScript.
"use strict";
document.querySelectorAll("form[data-autosubmit]").forEach(function (form) {
  form.submit();
});
