// The language switch: a link in every page's menu bar to the same page in the other
// edition, English (the book's root) or Chinese (zh-CN/ below it). mdBook sets
// `path_to_root` on every page; from it and the page's own address the other edition's
// address follows, on a web server or opened from disk alike.
(function () {
    "use strict";
    // An empty path_to_root (a page at the root) means "this folder", which for URL is "./".
    const root = new URL(path_to_root || "./", window.location.href);
    const page = window.location.href.slice(root.href.length);
    const chinese = root.pathname.endsWith("/zh-CN/");
    const other = chinese ? new URL("../" + page, root) : new URL("zh-CN/" + page, root);

    const link = document.createElement("a");
    link.href = other.href;
    link.className = "language-switch";
    link.lang = chinese ? "en" : "zh-CN";
    link.textContent = chinese ? "English" : "中文";
    link.title = chinese ? "Read this page in English" : "阅读本页的中文版";
    const buttons = document.querySelector(".right-buttons");
    if (buttons) {
        buttons.prepend(link);
    }
})();
