/* The storefront layout's start-up (templates/baskets/storefront_layout.html): Oscar's, as its
   layout runs it inline. A static file, so the basket list and basket pages need no CSP nonce. */
$(function () {
    oscar.init();
});
