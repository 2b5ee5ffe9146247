// Progressive enhancement only: every page works without this script.
document.addEventListener("DOMContentLoaded", () => {
  // After a form comes back with errors, put the keyboard focus on the first field that needs fixing.
  const invalid = document.querySelector("[aria-invalid=true]");
  if (invalid) invalid.focus();
});
