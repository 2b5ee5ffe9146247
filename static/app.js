// Progressive enhancement only: every page works without this script.
document.addEventListener("DOMContentLoaded", () => {
  // After a form comes back with errors, put the keyboard focus on the first field that needs fixing.
  const invalid = document.querySelector("[aria-invalid=true]");
  if (invalid) invalid.focus();

  // The sidebar becomes a menu on narrow screens: closed until its button opens it.
  const narrow = window.matchMedia("(max-width: 760px)");
  for (const sidebar of document.querySelectorAll("[data-collapsible]")) {
    const toggle = sidebar.querySelector(".sidebar-toggle");
    if (!toggle) continue;
    toggle.hidden = false;
    const set = (open) => {
      sidebar.classList.toggle("collapsed", !open);
      toggle.setAttribute("aria-expanded", String(open));
    };
    set(!narrow.matches);
    narrow.addEventListener("change", (e) => set(!e.matches));
    toggle.addEventListener("click", () => set(sidebar.classList.contains("collapsed")));
  }

  // Avatar: preview the chosen image before uploading it, and choose "upload" for it.
  const file = document.getElementById("id_avatar");
  const preview = document.getElementById("upload-preview");
  const figure = document.getElementById("upload-figure");
  if (file && preview && figure) {
    file.addEventListener("change", () => {
      const chosen = file.files && file.files[0];
      if (!chosen) return;
      const reader = new FileReader();
      reader.onload = () => { preview.src = reader.result; figure.hidden = false; };
      reader.readAsDataURL(chosen);
      const upload = document.getElementById("type_upload");
      if (upload) upload.checked = true;
    });
  }

  // The data scrubbing rule builder: show the regex and placeholder fields only when they apply.
  const dataType = document.getElementById("id_dataType");
  const method = document.getElementById("id_method");
  const pattern = document.getElementById("id_pattern");
  const replacement = document.getElementById("id_replacement");
  if (dataType && method && pattern && replacement) {
    const sync = () => {
      pattern.closest(".field").hidden = dataType.value !== "pattern";
      replacement.closest(".field").hidden = method.value !== "replace";
    };
    dataType.addEventListener("change", sync);
    method.addEventListener("change", sync);
    sync();
  }

  // Copy buttons (hidden without JavaScript, where the text can be selected by hand).
  for (const button of document.querySelectorAll("button.copy[data-copy]")) {
    button.hidden = false;
    const label = button.textContent;
    button.addEventListener("click", async () => {
      try {
        await navigator.clipboard.writeText(button.dataset.copy);
        button.textContent = "Copied";
      } catch {
        button.textContent = "Select the text to copy it";
      }
      setTimeout(() => { button.textContent = label; }, 2000);
    });
  }

  // Print buttons (the print style sheet leaves out everything marked .no-print).
  for (const button of document.querySelectorAll("button.print")) {
    button.hidden = false;
    button.addEventListener("click", () => window.print());
  }
});
