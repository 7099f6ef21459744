// The public report form: photos uploaded one request per file as they are picked (htmx), each
// shown as a thumbnail with a remove button ("使用我的位置" is app.js's). Without JavaScript the
// form still works: the files then go with the form itself.
(function () {
  "use strict";
  if (window.cityloopPublic) return; // boosted navigation may load this script again
  window.cityloopPublic = true;

  function mb(bytes) {
    return Math.floor(bytes / (1024 * 1024));
  }

  function failed(item, message) {
    item.className = "upload failed";
    item.setAttribute("role", "alert");
    item.setAttribute("data-testid", "upload-error");
    item.textContent = message + " ";
    var close = document.createElement("button");
    close.type = "button";
    close.className = "small";
    close.textContent = "×";
    close.setAttribute("aria-label", "关闭");
    close.setAttribute("data-remove-upload", "");
    item.appendChild(close);
  }

  function tooLarge(input, file) {
    var video = file.type.indexOf("video/") === 0;
    var limit = Number(input.getAttribute(video ? "data-max-video" : "data-max-image"));
    return limit && file.size > limit ? "文件过大（上限 " + mb(limit) + " MB）" : "";
  }

  function syncSubmit(form) {
    var busy = form.querySelector(".upload.pending") !== null;
    form.querySelectorAll("button[type=submit]").forEach(function (b) { b.disabled = busy; });
  }

  function upload(input) {
    var list = document.getElementById("uploads");
    Array.prototype.forEach.call(input.files, function (file) {
      var item = document.createElement("li");
      item.className = "upload pending";
      item.textContent = "正在上传 " + file.name + "…";
      // The request sends this one file (hx-params) as multipart; the CSRF header comes
      // from the layout's hx-headers.
      item.setAttribute("hx-encoding", "multipart/form-data");
      item.setAttribute("hx-params", "file");
      list.appendChild(item);
      var refusal = tooLarge(input, file);
      if (refusal) {
        failed(item, file.name + "：" + refusal);
        return;
      }
      htmx.ajax("POST", input.getAttribute("data-upload"), {
        source: item, target: item, swap: "outerHTML", values: { file: file },
      });
    });
    input.value = ""; // uploaded already: the form must not send the files again
    syncSubmit(input.form);
  }

  document.addEventListener("change", function (evt) {
    var input = evt.target;
    if (input instanceof HTMLInputElement && input.hasAttribute("data-upload")) upload(input);
  });

  document.addEventListener("click", function (evt) {
    var remove = evt.target.closest && evt.target.closest("[data-remove-upload]");
    if (remove) remove.closest("li").remove();
  });

  // An upload that failed outright (network, refused request) leaves its item pending.
  ["htmx:responseError", "htmx:sendError"].forEach(function (name) {
    document.addEventListener(name, function (evt) {
      var item = evt.detail.elt;
      if (item && item.classList && item.classList.contains("pending")) {
        failed(item, "上传失败，请重试");
        syncSubmit(item.closest("form"));
      }
    });
  });
  document.addEventListener("htmx:afterSettle", function () {
    var form = document.querySelector("#report form");
    if (form) syncSubmit(form);
  });
})();

// 复制 next to the query code: the clipboard where the browser allows it, else the code is
// selected for the reader to copy by hand.
(function () {
  "use strict";
  if (window.cityloopCopy) return;
  window.cityloopCopy = true;
  document.addEventListener("click", function (evt) {
    var button = evt.target.closest && evt.target.closest("[data-copy]");
    if (!button) return;
    var status = button.parentNode.querySelector(".copied");
    var code = button.getAttribute("data-copy");
    function told(text) {
      if (status) status.textContent = text;
    }
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(code).then(function () { told("已复制"); }, function () { told("请长按查询码复制"); });
    } else {
      var range = document.createRange();
      range.selectNodeContents(button.parentNode.querySelector("[data-testid=query-code]"));
      window.getSelection().removeAllRanges();
      window.getSelection().addRange(range);
      told("已选中，请复制");
    }
  });
})();
