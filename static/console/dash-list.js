// The dashboards list: reorder (up / down) and delete through /api/v1/dashboards.
(function () {
  "use strict";
  const list = document.querySelector("[data-testid=dashboard-list]");
  if (!list) return;

  function ids() { return [...list.querySelectorAll("[data-board]")].map((b) => Number(b.dataset.board)); }

  function buttons() {
    const boards = [...list.querySelectorAll("[data-board]")];
    boards.forEach((b, i) => {
      const up = b.querySelector("[data-move='-1']");
      const down = b.querySelector("[data-move='1']");
      if (up) up.disabled = i === 0;
      if (down) down.disabled = i === boards.length - 1;
    });
  }

  list.addEventListener("click", async (event) => {
    const move = event.target.closest("[data-move]");
    const del = event.target.closest("[data-delete]");
    const board = event.target.closest("[data-board]");
    if (!board || (!move && !del)) return;
    MP.hideError();
    if (move) {
      const sibling = move.dataset.move === "-1" ? board.previousElementSibling : board.nextElementSibling;
      if (!sibling) return;
      const before = ids();
      if (move.dataset.move === "-1") list.insertBefore(board, sibling); else list.insertBefore(sibling, board);
      buttons();
      try {
        await MP.send("POST", "dashboards/reorder", { ids: ids() });
        list.dataset.saved = ids().join(",");
      } catch (err) {
        MP.showError(document, err.message);
        before.forEach((id) => list.append(list.querySelector(`[data-board="${id}"]`)));
        buttons();
      }
      return;
    }
    if (!window.confirm(`Delete the dashboard “${del.dataset.name}” and its widgets? This cannot be undone.`)) return;
    try {
      await MP.send("DELETE", `dashboards/${board.dataset.board}`);
      board.remove();
      buttons();
    } catch (err) {
      MP.showError(document, err.message);
    }
  });
})();
