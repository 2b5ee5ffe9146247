// Progressive enhancement only: every page works without this script.
document.addEventListener("DOMContentLoaded", () => {
  // After a form comes back with errors, put the keyboard focus on the first field that needs fixing.
  const invalid = document.querySelector("[aria-invalid=true]");
  if (invalid) invalid.focus();

  // Copy buttons (hidden without JavaScript, where the key can be selected by hand).
  for (const button of document.querySelectorAll("button.copy[data-copy]")) {
    button.hidden = false;
    button.addEventListener("click", async () => {
      try {
        await navigator.clipboard.writeText(button.dataset.copy);
        button.textContent = "Copied";
      } catch {
        button.textContent = "Select the key to copy it";
      }
      setTimeout(() => { button.textContent = "Copy"; }, 2000);
    });
  }
});
