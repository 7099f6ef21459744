// Surface failures htmx would otherwise swallow: it swaps no 4xx/5xx body (CSRF refusal,
// server error) and a lost connection leaves the page as it was.
(function () {
  "use strict";
  function flash(message) {
    var box = document.getElementById("flash");
    if (!box) return;
    box.textContent = message;
    box.hidden = false;
  }
  document.addEventListener("htmx:beforeRequest", function () {
    var box = document.getElementById("flash");
    if (box) box.hidden = true;
  });
  document.addEventListener("htmx:responseError", function (evt) {
    var status = evt.detail.xhr ? evt.detail.xhr.status : "";
    flash("请求未成功（" + status + "），请刷新页面后重试。");
  });
  document.addEventListener("htmx:sendError", function () {
    flash("网络连接失败，请检查网络后重试。");
  });
})();
