// Progressive enhancement only: every page works without this script.
document.addEventListener("DOMContentLoaded", () => {
  // After a form comes back with errors, put the keyboard focus on the first field that needs fixing.
  const invalid = document.querySelector("[aria-invalid=true]");
  if (invalid) invalid.focus();

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
