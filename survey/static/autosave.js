// Saves each answer of a survey page the moment it is chosen, so that closing the tab loses
// nothing; "Clear answer" takes an answer back without reloading the page. The page works the
// same without this script: Next, Back and "Clear answer" post the whole form. Its messages come
// translated in the form's data-* attributes (respond/section.html).
(function () {
  "use strict";
  var form = document.querySelector("form[data-save-url]");
  if (!form || !window.fetch || !window.URLSearchParams) {
    return;
  }
  var status = document.getElementById("save-status");
  var hint = document.getElementById("save-hint");
  if (hint) {
    hint.textContent = form.dataset.hint;
  }

  function say(text) {
    if (status) {
      status.textContent = text;
    }
  }

  function radios(item) {
    return form.querySelectorAll("input[type=radio][name='" + CSS.escape(item) + "']");
  }

  // Saves go one after another: arrow keys in a radio group choose several answers in a
  // moment, and the server must store them in the order they were chosen.
  var queue = Promise.resolve();
  var pending = 0;

  function save(item, value) {
    pending += 1;
    queue = queue.then(function () {
      return send(item, value);
    }).then(function () {
      pending -= 1;
    });
    return queue;
  }

  function send(item, value) {
    var body = new URLSearchParams();
    body.set("csrf_token", form.querySelector("input[name=csrf_token]").value);
    body.set("item", item);
    body.set("value", value);
    say(form.dataset.saving);
    return fetch(form.getAttribute("data-save-url"), {
      method: "POST",
      body: body,
      credentials: "same-origin",
    }).then(function (response) {
      say(response.ok ? form.dataset.saved : form.dataset.notSaved);
    }).catch(function () {
      say(form.dataset.offline);
    });
  }

  // Next or Back while a save is still on its way: send the page once the saves are done, so
  // that a late save cannot overwrite the page's answers.
  form.addEventListener("submit", function (event) {
    if (pending === 0 || !form.requestSubmit) {
      return;
    }
    event.preventDefault();
    var submitter = event.submitter;
    queue.then(function () {
      form.requestSubmit(submitter);
    });
  });

  form.addEventListener("change", function (event) {
    var input = event.target;
    if (input.type === "radio") {
      save(input.name, input.value);
    }
  });

  form.addEventListener("click", function (event) {
    var button = event.target.closest("button[name=clear]");
    if (!button) {
      return;
    }
    event.preventDefault();
    var item = button.value;
    var choices = radios(item);
    choices.forEach(function (radio) {
      radio.checked = false;
    });
    save(item, "");
    // The button hides once nothing is chosen: keep the keyboard on the same question.
    if (choices.length) {
      choices[0].focus();
    }
  });
})();
