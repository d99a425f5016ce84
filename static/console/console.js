// Small behaviours shared by console pages: copy buttons, confirmations, toasts, menus.
(function () {
  "use strict";

  async function copyText(text) {
    // The async clipboard needs a secure context (https or localhost); fall back to a selection copy.
    if (navigator.clipboard && window.isSecureContext) {
      try { await navigator.clipboard.writeText(text); return true; } catch (e) { /* fall through */ }
    }
    const area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.style.position = "fixed";
    area.style.opacity = "0";
    document.body.appendChild(area);
    area.select();
    let ok = false;
    try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
    area.remove();
    return ok;
  }

  document.addEventListener("click", async (event) => {
    const copy = event.target.closest("[data-copy]");
    if (copy) {
      const source = document.querySelector(copy.dataset.copy);
      const text = source ? source.textContent.trim() : "";
      const ok = await copyText(text);
      copy.dataset.copied = ok ? "1" : "0";
      const label = copy.dataset.label || copy.innerHTML;
      copy.dataset.label = label;
      copy.textContent = ok ? "Copied" : "Select and copy";
      setTimeout(() => { copy.innerHTML = label; }, 1600);
      return;
    }
    const close = event.target.closest(".toast-close");
    if (close) { dismiss(close.closest(".toast")); return; }
    // Close open menus when clicking elsewhere.
    document.querySelectorAll("details.switcher[open]").forEach((menu) => {
      if (!menu.contains(event.target)) menu.removeAttribute("open");
    });
  });

  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape") document.querySelectorAll("details.switcher[open]").forEach((m) => m.removeAttribute("open"));
  });

  document.addEventListener("submit", (event) => {
    const message = event.target.dataset.confirm;
    if (message && !window.confirm(message)) event.preventDefault();
  });

  document.addEventListener("change", (event) => {
    if (event.target.matches("[data-autosubmit]")) event.target.form.submit();
  });

  // A destructive button waits until its confirmation text is typed exactly (the server checks it too).
  document.addEventListener("input", (event) => {
    const input = event.target;
    if (!input.matches || !input.matches("[data-must-match]")) return;
    const button = document.querySelector(input.dataset.enables);
    if (button) button.disabled = input.value.trim() !== input.dataset.mustMatch;
  });

  function dismiss(toast) {
    if (!toast) return;
    toast.classList.add("leaving");
    setTimeout(() => toast.remove(), 220);
  }

  document.querySelectorAll(".toast").forEach((toast) => {
    // Errors stay until dismissed; confirmations fade on their own.
    if (!toast.classList.contains("error")) setTimeout(() => dismiss(toast), 6000);
  });
})();
