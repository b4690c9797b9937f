// The LKE's live score. The form works without this script (Simpan draf posts it and the page
// shows the stored score); with it, every change of an answer posts the form as it stands to
// the portal's preview route (which asks the reporting service to score it, saving nothing),
// and the total, grade, component scores and consistency notes are redrawn.
"use strict";

(function () {
  var DELAY_MS = 250; // a burst of changes is scored once
  var timer = null;
  var sequence = 0; // only the answer to the latest request is drawn

  function byId(id) {
    return document.getElementById(id);
  }

  function setText(id, text) {
    var element = byId(id);
    if (element) {
      element.textContent = text;
    }
  }

  function status(text, isError) {
    var element = byId("lke-live-status");
    if (!element) {
      return;
    }
    element.textContent = text;
    element.classList.toggle("error", Boolean(isError));
  }

  function drawProblems(problems) {
    var box = byId("lke-problems-box");
    var list = byId("lke-problems");
    if (!box || !list) {
      return;
    }
    while (list.firstChild) {
      list.removeChild(list.firstChild);
    }
    problems.forEach(function (problem) {
      var item = document.createElement("li");
      item.textContent = problem.message;
      list.appendChild(item);
    });
    box.hidden = problems.length === 0;
  }

  function setLive(name, text) {
    Array.prototype.forEach.call(document.querySelectorAll("[data-live=" + name + "]"),
      function (element) {
        element.textContent = text;
      });
  }

  function draw(score) {
    setText("lke-total", score.total);
    setText("lke-grade", score.grade || "-");
    setLive("total", score.total);
    setLive("grade", score.grade || "-");
    setLive("answered", String(score.answered));
    setText("lke-grade-label", score.grade_label ? "(" + score.grade_label + ")" : "");
    setText("lke-answered", String(score.answered));
    setText("lke-criteria", String(score.criteria));
    var scores = score.scores || {};
    Array.prototype.forEach.call(document.querySelectorAll("[data-score-of]"), function (cell) {
      var value = scores[cell.getAttribute("data-score-of")];
      cell.textContent = value || "0,00";
    });
    drawProblems(score.problems || []);
  }

  function messageOf(xhr) {
    try {
      var body = JSON.parse(xhr.responseText);
      if (body && body.error) {
        return [body.error.message || ""].concat(body.error.details || []).join(" ");
      }
    } catch (ignored) {
      // not JSON: a proxy's error page, for instance
    }
    return "Nilai sementara tidak dapat dihitung (kode " + xhr.status + ").";
  }

  function preview(form) {
    var mine = ++sequence;
    var xhr = new XMLHttpRequest();
    status("Menghitung nilai sementara…", false);
    xhr.open("POST", form.getAttribute("data-preview-url"));
    xhr.setRequestHeader("X-CSRF-Token", form.elements.csrf_token.value);
    xhr.setRequestHeader("Accept", "application/json");
    xhr.onload = function () {
      if (mine !== sequence) {
        return;
      }
      if (xhr.status === 200) {
        draw(JSON.parse(xhr.responseText));
        status("Nilai sementara diperbarui (belum disimpan).", false);
      } else {
        status(messageOf(xhr), true);
      }
    };
    xhr.onerror = function () {
      if (mine === sequence) {
        status("Koneksi terputus; nilai sementara tidak diperbarui.", true);
      }
    };
    xhr.send(new FormData(form));
  }

  function markUnsaved() {
    var note = byId("lke-unsaved");
    if (note) {
      note.hidden = false;
    }
    var finalise = byId("form-finalise");
    if (finalise) {
      var button = finalise.querySelector("button[type=submit]");
      button.disabled = true;
      button.title = "Simpan draf terlebih dahulu.";
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    var form = byId("form-lke");
    if (!form || !window.FormData || !window.XMLHttpRequest) {
      return;
    }
    form.addEventListener("change", function (event) {
      markUnsaved();
      if (event.target.classList && event.target.classList.contains("lke-answer")) {
        window.clearTimeout(timer);
        timer = window.setTimeout(function () {
          preview(form);
        }, DELAY_MS);
      }
    });
    form.addEventListener("input", markUnsaved);
  });
})();
