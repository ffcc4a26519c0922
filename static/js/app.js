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
  // After a refused form, start where the problem is.
  function focusFirstError() {
    const invalid = document.querySelector('[aria-invalid="true"]');
    if (invalid) invalid.focus();
  }

  document.addEventListener("DOMContentLoaded", function () { localizeTimes(document); focusFirstError(); });
  document.addEventListener("htmx:afterSwap", function (event) { localizeTimes(event.target); });

  // A failed htmx request says so instead of doing nothing.
  document.addEventListener("htmx:responseError", function () { showProblem("That didn't work. Reload the page and try again."); });
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
