/* The postcode check (templates/delivery/partials/postcode_check.html). Without JavaScript its
   form opens /livraison/; with it, the answer (and a commune's choice form) appears in place.
   A static file rather than an inline script: pages that include the check need no CSP nonce. */
(function () {
    function attach(section) {
        if (section.dataset.checkReady) { return; }
        section.dataset.checkReady = "1";
        var form = section.querySelector(".delivery-check-form");
        var result = section.querySelector(".delivery-check-result");
        section.addEventListener("submit", function (event) {
            var target = event.target;
            if (!target.matches(".delivery-check-form, .delivery-commune-form")) { return; }
            event.preventDefault();
            var query = new URLSearchParams(new FormData(target)).toString();
            fetch(form.dataset.fragmentUrl + "?" + query, {headers: {"X-Requested-With": "XMLHttpRequest"}})
                .then(function (response) { return response.text(); })
                .then(function (html) { result.innerHTML = html; })
                .catch(function () { target.submit(); });
        });
    }
    document.querySelectorAll(".delivery-check").forEach(attach);
})();
