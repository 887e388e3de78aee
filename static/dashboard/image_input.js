/*
 * Oscar's image upload widget (templates/oscar/forms/widgets/image_input_widget.html) without
 * inline handlers, which the Content-Security-Policy blocks. dashboard.js shows the chosen file
 * in the widget's <img data-upload-preview>; once it loads, the widget's "Upload Image" button
 * hides; a file the browser cannot show brings the button back and says so, as Oscar's
 * onload/onerror attributes did.
 */
(function () {
    "use strict";

    function preview(event) {
        var img = event.target;
        return img instanceof HTMLImageElement && img.hasAttribute("data-upload-preview") ? img : null;
    }

    function uploadButton(img) {
        // dashboard.js renumbers the ids of the image forms it adds: read them from the page.
        var widget = img.closest(".image-input");
        return widget ? document.getElementById("upload_button_" + widget.id) : null;
    }

    // load and error do not bubble: listened to while capturing, they reach this listener from
    // every widget, including those dashboard.js adds after the page loaded.
    document.addEventListener("load", function (event) {
        var img = preview(event);
        var button = img && uploadButton(img);
        if (button) {
            button.style.display = "none";
        }
    }, true);

    document.addEventListener("error", function (event) {
        var img = preview(event);
        if (!img) {
            return;
        }
        var button = uploadButton(img);
        if (button) {
            button.style.display = "";
        }
        window.alert(img.getAttribute("data-error-message"));
    }, true);
}());
