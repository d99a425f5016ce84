// Small behaviours shared by console pages: copy buttons, confirmations, toasts.
document.addEventListener("click", async (event) => {
  const copy = event.target.closest("[data-copy]");
  if (copy) {
    const text = document.querySelector(copy.dataset.copy)?.textContent?.trim() || "";
    try { await navigator.clipboard.writeText(text); } catch (e) { /* clipboard may be unavailable over http */ }
    copy.dataset.copied = "1";
    const label = copy.textContent;
    copy.textContent = "Copied";
    setTimeout(() => { copy.textContent = label; }, 1500);
  }
});
document.addEventListener("submit", (event) => {
  const message = event.target.dataset.confirm;
  if (message && !window.confirm(message)) event.preventDefault();
});
window.addEventListener("load", () => {
  document.querySelectorAll(".toast").forEach((toast) => setTimeout(() => toast.remove(), 6000));
});
