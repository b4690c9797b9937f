// A report's progress bar. While a report is queued or being built by a worker, its card carries
// data-report-status-url (a portal route answering the report's state as JSON); this script asks
// it every second and moves the bar, until the report is ready (the download links appear) or
// failed (the reason appears). Without the script the page still shows the state at load time.
"use strict";

(function () {
  var INTERVAL_MS = 1000;
  var MAX_FAILURES = 30; // about half a minute without an answer: stop asking

  function show(element, visible) {
    if (element) {
      element.hidden = !visible;
    }
  }

  function draw(card, report) {
    var bar = card.querySelector("progress");
    var label = card.querySelector(".report-progress-label");
    var state = card.querySelector(".report-state");
    if (bar) {
      bar.value = report.progress;
      bar.textContent = report.progress + "%";
    }
    if (label) {
      label.textContent = report.progress + "%" +
        (report.progress_label ? " · " + report.progress_label : "");
    }
    if (state) {
      state.textContent = report.state_label;
      state.className = "state state-report-" + report.state + " report-state";
    }
  }

  function finish(card, report) {
    card.removeAttribute("data-report-status-url");
    card.className = "report report-" + report.state;
    if (report.state === "ready") {
      show(card.querySelector(".report-progress"), false);
      var files = report.files || {};
      Array.prototype.forEach.call(card.querySelectorAll("[data-file-size]"), function (span) {
        var size = files[span.getAttribute("data-file-size")];
        span.textContent = size ? "(" + size + ")" : "";
      });
      show(card.querySelector("[data-report-files]"), true);
      if (report.can_approve) {
        show(card.querySelector("[data-when-approvable]"), true);
      }
    } else {
      show(card.querySelector(".report-progress"), false);
      var error = card.querySelector(".report-error");
      if (error) {
        error.textContent = report.error || "Laporan gagal disusun.";
        show(error, true);
      }
    }
  }

  function watch(card) {
    var url = card.getAttribute("data-report-status-url");
    var failures = 0;

    function ask() {
      var xhr = new XMLHttpRequest();
      xhr.open("GET", url);
      xhr.setRequestHeader("Accept", "application/json");
      xhr.onload = function () {
        if (xhr.status !== 200) {
          retry();
          return;
        }
        failures = 0;
        var report = JSON.parse(xhr.responseText);
        draw(card, report);
        if (report.done) {
          finish(card, report);
        } else {
          window.setTimeout(ask, INTERVAL_MS);
        }
      };
      xhr.onerror = retry;
      xhr.send();
    }

    function retry() {
      failures += 1;
      var label = card.querySelector(".report-progress-label");
      if (failures >= MAX_FAILURES) {
        if (label) {
          label.textContent = "Kemajuan tidak dapat diperbarui. Muat ulang halaman nanti.";
        }
        return;
      }
      if (label) {
        label.textContent = "Koneksi terputus; mencoba lagi…";
      }
      window.setTimeout(ask, INTERVAL_MS);
    }

    window.setTimeout(ask, INTERVAL_MS);
  }

  document.addEventListener("DOMContentLoaded", function () {
    if (!window.XMLHttpRequest) {
      return;
    }
    Array.prototype.forEach.call(document.querySelectorAll("[data-report-status-url]"), watch);
  });
})();
