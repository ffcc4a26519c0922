// Progressive enhancement only: every page works without this file.
(function () {
  "use strict";

  // Forms marked data-confirm="question" ask in a dialog before submitting.
  function confirmBeforeSubmit(form, submitter) {
    const template = document.getElementById("confirm-dialog-template");
    if (!template || typeof HTMLDialogElement === "undefined") return true;
    const dialog = template.content.firstElementChild.cloneNode(true);
    dialog.querySelector("[data-confirm-title]").textContent = form.dataset.confirm;
    dialog.querySelector("[data-confirm-detail]").textContent = form.dataset.confirmDetail || "";
    const ok = dialog.querySelector("[data-confirm-ok]");
    ok.textContent = form.dataset.confirmAction || "Confirm";
    if (form.dataset.confirmDanger !== undefined) ok.classList.add("btn--danger");
    else ok.classList.add("btn--primary");
    dialog.querySelector("[data-confirm-cancel]").addEventListener("click", function () { dialog.close(); });
    ok.addEventListener("click", function () {
      dialog.close();
      form.dataset.confirmed = "yes";
      if (submitter) form.requestSubmit(submitter); else form.requestSubmit();
    });
    dialog.addEventListener("close", function () { dialog.remove(); });
    document.body.appendChild(dialog);
    dialog.showModal();
    dialog.querySelector("[data-confirm-cancel]").focus();
    return false;
  }

  document.addEventListener("submit", function (event) {
    const form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.dataset.confirm) return;
    if (form.dataset.confirmed === "yes") { delete form.dataset.confirmed; return; }
    if (!confirmBeforeSubmit(form, event.submitter)) event.preventDefault();
  });

  // A double click must not send a form twice (two organizations instead of one).
  document.addEventListener("submit", function (event) {
    const form = event.target;
    if (!(form instanceof HTMLFormElement) || event.defaultPrevented || form.hasAttribute("hx-post")) return;
    if (form.dataset.submitting === "yes") { event.preventDefault(); return; }
    form.dataset.submitting = "yes";
    form.setAttribute("aria-busy", "true");
  });
  // Coming back with the Back button, the form works again.
  window.addEventListener("pageshow", function () {
    document.querySelectorAll("form[data-submitting]").forEach(function (form) {
      delete form.dataset.submitting;
      form.removeAttribute("aria-busy");
    });
  });

  // Menus: arrow keys move between items; leaving with Tab or a click elsewhere closes them.
  function menuItems(menu) {
    return Array.from(menu.querySelectorAll(".menu__panel a.menu__item, .menu__panel button.menu__item"));
  }
  document.addEventListener("keydown", function (event) {
    const menu = event.target.closest ? event.target.closest("details.menu") : null;
    if (!menu || !["ArrowDown", "ArrowUp", "Home", "End"].includes(event.key)) return;
    const items = menuItems(menu);
    if (!items.length) return;
    event.preventDefault();
    if (!menu.open) menu.open = true;
    const at = items.indexOf(document.activeElement);
    let next = 0;
    if (event.key === "End") next = items.length - 1;
    else if (event.key === "ArrowDown") next = at < 0 ? 0 : Math.min(at + 1, items.length - 1);
    else if (event.key === "ArrowUp") next = at <= 0 ? 0 : at - 1;
    items[next].focus();
  });
  document.addEventListener("focusout", function (event) {
    const menu = event.target.closest ? event.target.closest("details.menu[open]") : null;
    if (menu && event.relatedTarget && !menu.contains(event.relatedTarget)) menu.removeAttribute("open");
  });

  // Only one menu open at a time; Escape and outside clicks close it.
  function closeMenus(except) {
    document.querySelectorAll("details.menu[open]").forEach(function (menu) {
      if (menu !== except) menu.removeAttribute("open");
    });
  }
  document.addEventListener("click", function (event) {
    const menu = event.target.closest ? event.target.closest("details.menu") : null;
    closeMenus(menu);
  });
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    const open = document.querySelector("details.menu[open]");
    if (open) { open.removeAttribute("open"); open.querySelector("summary").focus(); }
  });

  // Times are stored and sent in UTC; show them in the viewer's own time zone.
  function localizeTimes(root) {
    const format = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
    const dateOnly = new Intl.DateTimeFormat(undefined, { dateStyle: "medium" });
    root.querySelectorAll("time[data-local]").forEach(function (el) {
      const when = new Date(el.getAttribute("datetime"));
      if (isNaN(when)) return;
      el.title = el.textContent.trim();
      el.textContent = (el.dataset.local === "date" ? dateOnly : format).format(when);
    });
  }
  // Colour fields: the hex text is what is sent; a picker beside it, kept in step.
  function wireColorFields(root) {
    root.querySelectorAll("[data-color-picker]").forEach(function (picker) {
      const text = picker.parentElement.querySelector("[data-color-text]");
      if (!text) return;
      picker.hidden = false;
      picker.addEventListener("input", function () { text.value = picker.value; });
      text.addEventListener("input", function () {
        if (/^#[0-9a-fA-F]{6}$/.test(text.value.trim())) picker.value = text.value.trim().toLowerCase();
      });
    });
  }

  // "Copy to clipboard" beside a secret shown once (a new API key). Without script, or without
  // clipboard access, the text is still there to select (it selects whole with one click).
  function wireCopyButtons(root) {
    root.querySelectorAll("button[data-copy]").forEach(function (button) {
      const source = document.getElementById(button.dataset.copy);
      if (!source || !navigator.clipboard) return;
      const status = button.parentElement.querySelector("[data-copy-status]");
      button.hidden = false;
      button.addEventListener("click", function () {
        navigator.clipboard.writeText(source.textContent.trim()).then(
          function () { if (status) status.textContent = "Copied."; },
          function () { if (status) status.textContent = "Couldn't copy: select the key and copy it yourself."; }
        );
      });
    });
  }

  // After a refused form, start where the problem is.
  function focusFirstError() {
    const invalid = document.querySelector('[aria-invalid="true"]');
    if (invalid) invalid.focus();
  }

  // The impersonation banner's time left, counted from what the server said (the browser's clock
  // may be off). When it runs out, one fresh GET of this address: the server then says it ended.
  function startCountdown() {
    const label = document.querySelector("[data-countdown-seconds]");
    if (!label) return;
    const ends = Date.now() + Number(label.getAttribute("data-countdown-seconds")) * 1000;
    function tick() {
      const left = ends - Date.now();
      if (left <= -2000) { window.location.assign(window.location.href); return; }
      const minutes = Math.max(0, Math.ceil(left / 60000));
      label.textContent = minutes + (minutes === 1 ? " minute" : " minutes") + " left";
      window.setTimeout(tick, Math.min(15000, Math.max(1000, left + 2000)));
    }
    tick();
  }

  document.addEventListener("DOMContentLoaded", function () {
    startCountdown();
    localizeTimes(document);
    wireColorFields(document);
    wireCopyButtons(document);
    focusFirstError();
  });
  document.addEventListener("htmx:afterSwap", function (event) { localizeTimes(event.target); });

  // A failed htmx request says so instead of doing nothing.
  document.addEventListener("htmx:responseError", function (event) {
    const problem = event.detail.xhr && event.detail.xhr.getResponseHeader("X-Problem");
    showProblem(problem ? decodeURIComponent(problem) : "That didn't work. Reload the page and try again.");
  });
  document.addEventListener("htmx:sendError", function () { showProblem("The server can't be reached. Check your connection and try again."); });
  function showProblem(text) {
    const region = document.getElementById("flashes");
    if (!region) return;
    const alert = document.createElement("div");
    alert.className = "alert alert--error";
    alert.setAttribute("role", "alert");
    alert.textContent = text;
    region.replaceChildren(alert);
  }
})();
