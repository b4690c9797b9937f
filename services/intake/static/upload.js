// Uploads with a progress bar. The form works without this script (it posts and the server
// redirects back); with it, the same form is sent by XMLHttpRequest so the bytes sent can be
// shown. The CSRF token travels in a header, the file stays the form's last field.
"use strict";

(function () {
  function showError(form, status, text) {
    status.textContent = text;
    status.classList.add("error");
  }

  function messageOf(xhr) {
    try {
      var body = JSON.parse(xhr.responseText);
      if (body && body.error) {
        var text = body.error.message || "";
        var fields = body.error.fields || {};
        Object.keys(fields).forEach(function (name) {
          text += " " + fields[name].join(" ");
        });
        return text;
      }
    } catch (ignored) {
      // not JSON: a proxy's error page, for instance
    }
    if (xhr.status === 413) {
      return "Berkas terlalu besar.";
    }
    return "Unggahan gagal (kode " + xhr.status + "). Silakan coba lagi.";
  }

  function send(form) {
    var progress = form.querySelector("progress");
    var status = form.querySelector(".upload-status");
    var button = form.querySelector("button[type=submit]");
    var xhr = new XMLHttpRequest();

    status.textContent = "Mengunggah…";
    status.classList.remove("error");
    progress.value = 0;
    progress.hidden = false;
    button.disabled = true;

    xhr.open("POST", form.action);
    xhr.setRequestHeader("X-CSRF-Token", form.elements.csrf_token.value);
    xhr.setRequestHeader("Accept", "application/json");
    xhr.upload.onprogress = function (event) {
      if (event.lengthComputable) {
        progress.max = event.total;
        progress.value = event.loaded;
        status.textContent = "Mengunggah… " + Math.floor(100 * event.loaded / event.total) + "%";
      }
    };
    xhr.onload = function () {
      if (xhr.status === 200 || xhr.status === 201) {
        status.textContent = "Selesai. Memuat ulang halaman…";
        window.location.reload();
        return;
      }
      progress.hidden = true;
      button.disabled = false;
      showError(form, status, messageOf(xhr));
    };
    xhr.onerror = function () {
      progress.hidden = true;
      button.disabled = false;
      showError(form, status, "Koneksi terputus sebelum unggahan selesai. Silakan coba lagi.");
    };
    xhr.send(new FormData(form));
  }

  document.addEventListener("DOMContentLoaded", function () {
    var forms = document.querySelectorAll("form.upload-form");
    Array.prototype.forEach.call(forms, function (form) {
      form.addEventListener("submit", function (event) {
        if (!window.FormData || !window.XMLHttpRequest) {
          return; // the plain form post still works
        }
        event.preventDefault();
        send(form);
      });
    });
  });
})();
