// Behaviour of the pages that markup cannot say. Everything lives here, not in inline
// scripts or hx-on attributes: the Content-Security-Policy allows scripts from files only.
(function () {
  "use strict";
  if (window.cityloopApp) return; // boosted navigation may load this script again
  window.cityloopApp = true;

  // Surface failures htmx would otherwise swallow: it swaps no 4xx/5xx body (CSRF refusal,
  // server error) and a lost connection leaves the page as it was.
  function flash(message) {
    var box = document.getElementById("flash");
    if (!box) return;
    box.textContent = message;
    box.hidden = false;
  }
  document.addEventListener("htmx:beforeRequest", function (evt) {
    // While the user logs in again, the page's own polls wait: each would be answered 401
    // with a session and token of its own, racing the dialog's.
    var dialog = document.getElementById("relogin");
    var headers = (evt.detail.requestConfig && evt.detail.requestConfig.headers) || {};
    if (dialog && dialog.open && headers["X-Background"] === "poll") {
      evt.preventDefault();
      return;
    }
    var box = document.getElementById("flash");
    if (box) box.hidden = true;
  });
  document.addEventListener("htmx:responseError", function (evt) {
    var status = evt.detail.xhr ? evt.detail.xhr.status : "";
    if (status === 401 && evt.detail.xhr.getResponseHeader("X-Login-Required")) {
      relogin(evt.detail.xhr.getResponseHeader("X-CSRF-Token"));
      return;
    }
    if (status === 429) {
      var wait = evt.detail.xhr.getResponseHeader("Retry-After");
      flash("请求过于频繁，请" + (wait ? " " + wait + " 秒" : "稍") + "后再试。");
      return;
    }
    flash("请求未成功（" + status + "），请刷新页面后重试。");
  });
  document.addEventListener("htmx:sendError", function () {
    flash("网络连接失败，请检查网络后重试。");
  });

  // A lost session: log in again in a dialog over the page, whose DOM (and typed text) stays.
  // The new session has a new CSRF token: every form and htmx's header get it.
  function relogin(token) {
    var dialog = document.getElementById("relogin");
    if (!dialog || !dialog.showModal) {
      window.location.assign("/login");
      return;
    }
    if (token) dialog.querySelector("[name=csrf_token]").value = token;
    if (dialog.open) return;
    dialog.querySelector("[data-relogin-error]").hidden = true;
    dialog.showModal();
    dialog.querySelector("[name=password]").focus();
  }

  function useToken(token) {
    var body = document.body;
    var headers = JSON.parse(body.getAttribute("hx-headers") || "{}");
    headers["X-CSRF-Token"] = token;
    body.setAttribute("hx-headers", JSON.stringify(headers));
    document.querySelectorAll("input[name=csrf_token]").forEach(function (input) {
      input.value = token;
    });
  }

  function submitRelogin(form) {
    var dialog = form.closest("dialog");
    var error = form.querySelector("[data-relogin-error]");
    fetch(form.action, {
      method: "POST",
      body: new URLSearchParams(new FormData(form)),
      headers: { "X-Relogin": "true" },
      credentials: "same-origin"
    }).then(function (response) {
      if (response.status === 204) {
        useToken(response.headers.get("X-CSRF-Token"));
        form.querySelector("[name=password]").value = "";
        dialog.close();
        flash("已重新登录，请再次提交刚才的操作。");
        return null;
      }
      return response.text().then(function (text) {
        error.textContent = response.status === 403 ? "页面已过期，请刷新页面后登录。" : text;
        error.hidden = false;
      });
    }, function () {
      error.textContent = "网络连接失败，请检查网络后重试。";
      error.hidden = false;
    });
  }

  document.addEventListener("submit", function (evt) {
    if (evt.target.closest && evt.target.closest("#relogin")) {
      evt.preventDefault();
      submitRelogin(evt.target);
    }
  });

  // A suggested category fills the category select; nothing is chosen until it is clicked.
  function pickCategory(button) {
    var select = document.getElementById("category");
    if (!select) return;
    select.value = button.getAttribute("data-category");
    select.dispatchEvent(new Event("change", { bubbles: true }));
    button.setAttribute("aria-pressed", "true");
  }

  // "Use my position": fills the form's lat/lon from the browser's geolocation.
  function findMe(form) {
    var status = form.querySelector("[data-locate-status]");
    status.textContent = "正在定位…";
    navigator.geolocation.getCurrentPosition(
      function (pos) {
        var lat = form.querySelector("[name=lat]");
        var lon = form.querySelector("[name=lon]");
        lat.value = pos.coords.latitude.toFixed(6);
        lon.value = pos.coords.longitude.toFixed(6);
        lon.dispatchEvent(new Event("change", { bubbles: true })); // the map follows (map.js)
        status.textContent = "已填入您的位置（精度约 " + Math.round(pos.coords.accuracy) + " 米）";
      },
      function () {
        status.textContent = "无法获取位置：请允许定位，或手动填写经纬度";
      },
      { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 }
    );
  }

  // The locate buttons only where the browser can locate (geolocation needs HTTPS or localhost).
  function showLocate() {
    if (!("geolocation" in navigator) || !window.isSecureContext) return;
    document.querySelectorAll("[data-locate]").forEach(function (b) { b.hidden = false; });
  }

  // An irreversible action says what it will do and waits for a yes (data-confirm on its
  // button). Captured before htmx sees the submit; without JavaScript the form posts as is.
  document.addEventListener("click", function (evt) {
    var button = evt.target.closest && evt.target.closest("[data-confirm]");
    if (!button) return;
    var message = button.getAttribute("data-confirm");
    if (message && !window.confirm(message)) {
      evt.preventDefault();
      evt.stopImmediatePropagation();
    }
  }, true);

  // The case page's action bar jumps to a step's form: put the cursor in its first field, so a
  // phone opens its keyboard there.
  function focusForm(link) {
    var form = document.getElementById(link.getAttribute("href").slice(1));
    var field = form && form.querySelector("textarea, input:not([type=hidden]), select");
    if (field) setTimeout(function () { field.focus(); }, 0);
  }

  document.addEventListener("click", function (evt) {
    if (!evt.target.closest) return;
    var jump = evt.target.closest('a[href^="#action-"]');
    if (jump) focusForm(jump);
    var suggestion = evt.target.closest("button.suggestion[data-category]");
    if (suggestion) pickCategory(suggestion);
    if (evt.target.closest("[data-relogin-cancel]")) evt.target.closest("dialog").close();
    var locate = evt.target.closest("[data-locate]");
    if (locate) findMe(locate.closest("form"));
  });

  // A file input that uploads as soon as files are picked is emptied once they went.
  document.addEventListener("htmx:afterRequest", function (evt) {
    var elt = evt.detail.elt;
    if (elt && elt.hasAttribute && elt.hasAttribute("data-clear-after-request")) elt.value = "";
  });

  document.addEventListener("htmx:load", showLocate);
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", showLocate);
  } else {
    showLocate();
  }
})();
