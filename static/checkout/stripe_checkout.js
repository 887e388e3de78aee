/* Checkout payment step: save the card with a SetupIntent (confirmCardSetup), post its payment
   method; if the bank asks for 3-D Secure, confirm the PaymentIntent (confirmCardPayment) and
   post again. The server decides amounts and creates the order. */
(function () {
  "use strict";
  const form = document.getElementById("place_order_form");
  if (!form || typeof Stripe === "undefined") return;
  const stripe = Stripe(form.dataset.publishableKey);
  const card = stripe.elements().create("card");
  card.mount("#card-element");
  const errors = document.getElementById("card-errors");
  const button = document.getElementById("place-order");
  const methodInput = document.getElementById("id_payment_method_id");

  function fail(message) {
    errors.textContent = message || "";
    button.disabled = false;
  }

  async function authenticate(secret) {
    button.disabled = true;
    const result = await stripe.confirmCardPayment(secret);
    if (result.error) return fail(result.error.message);
    form.submit();
  }

  if (form.dataset.authenticationSecret) authenticate(form.dataset.authenticationSecret);

  form.addEventListener("submit", async (event) => {
    if (methodInput.value) return; // card already saved: the server authorises it
    event.preventDefault();
    button.disabled = true;
    errors.textContent = "";
    const result = await stripe.confirmCardSetup(form.dataset.setupSecret, {
      payment_method: { card: card },
    });
    if (result.error) return fail(result.error.message);
    const method = result.setupIntent.payment_method;
    methodInput.value = typeof method === "string" ? method : method.id;
    form.submit();
  });
})();
