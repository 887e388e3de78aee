/* Live rules panel for the basket variant admin page: while staff edit the composition, show the
   cost per person-day, the number of distinct products, the margin and every broken rule, before
   saving. The server re-checks everything on save; this is only the early warning. */
(function () {
  "use strict";
  const $ = window.django && window.django.jQuery;
  const panel = () => document.getElementById("live-rules");
  const cents = (text) => {
    if (text === null || text === undefined || text === "") return null;
    const [whole, frac = ""] = String(text).replace(",", ".").split(".");
    return parseInt(whole, 10) * 100 + parseInt((frac + "00").slice(0, 2), 10);
  };
  const euros = (c) => (c / 100).toFixed(2).replace(".", ",") + " €";
  const lang = (document.documentElement.lang || "fr").slice(0, 2);
  const T = lang === "fr" ? {
    cost: "Coût de la composition", perDay: "Coût par personne et par jour", distinct: "Produits différents",
    margin: "Marge HT", ok: "Toutes les règles sont respectées.", ceiling: "Au-dessus du plafond de",
    few: "Il en faut au moins", diet: "n’est pas compatible avec", noCost: "n’a pas de prix de revient",
    out: "n’est pas dans l’assortiment", dup: "est présent deux fois", empty: "Le panier est vide.",
  } : {
    cost: "Composition cost", perDay: "Cost per person per day", distinct: "Distinct products",
    margin: "Margin excl. VAT", ok: "Every rule holds.", ceiling: "Above the ceiling of",
    few: "At least this many are needed:", diet: "is not compatible with", noCost: "has no cost price",
    out: "is not in the assortment", dup: "appears twice", empty: "The basket is empty.",
  };

  function rows() {
    const result = [];
    document.querySelectorAll('select[name^="components-"][name$="-product"]').forEach((select) => {
      const prefix = select.name.slice(0, -"product".length);
      const del = document.querySelector(`input[name="${prefix}DELETE"]`);
      const qty = document.querySelector(`input[name="${prefix}quantity"]`);
      if (!select.value || (del && del.checked) || select.closest(".empty-form")) return;
      result.push({ id: select.value, quantity: parseInt(qty && qty.value, 10) || 0 });
    });
    return result;
  }

  let timer = null;
  function schedule() {
    clearTimeout(timer);
    timer = setTimeout(refresh, 250);
  }

  async function refresh() {
    const box = panel();
    if (!box) return;
    const lines = rows();
    const basket = (document.getElementById("id_themed_basket") || {}).value || "";
    const persons = parseInt((document.getElementById("id_persons") || {}).value, 10) || 0;
    const price = cents((document.getElementById("id_price") || {}).value);
    const url = `${box.dataset.factsUrl}?basket=${encodeURIComponent(basket)}&products=${lines.map((l) => l.id).join(",")}`;
    let facts;
    try {
      facts = await (await fetch(url, { credentials: "same-origin" })).json();
    } catch (e) {
      return;
    }
    const problems = [];
    const seen = new Set();
    let total = 0;
    if (!lines.length) problems.push(T.empty);
    for (const line of lines) {
      const p = facts.products[line.id] || { title: line.id, cost: null, diets: [], in_assortment: false };
      if (seen.has(line.id)) { problems.push(`« ${p.title} » ${T.dup}`); continue; }
      seen.add(line.id);
      if (!p.in_assortment) problems.push(`« ${p.title} » ${T.out}`);
      const c = cents(p.cost);
      if (c === null) problems.push(`« ${p.title} » ${T.noCost}`); else total += c * line.quantity;
      for (const diet of (facts.basket ? facts.basket.diets : [])) {
        if (!p.diets.includes(diet)) problems.push(`« ${p.title} » ${T.diet} ${diet}`);
      }
    }
    const days = facts.basket ? facts.basket.days : 7;
    const ceiling = cents(box.dataset.ceiling);
    const personDays = Math.max(persons, 1) * days;
    const perDay = Math.ceil(total / personDays);
    if (total > ceiling * personDays) problems.push(`${T.ceiling} ${euros(ceiling)}`);
    if (facts.basket && seen.size < facts.basket.min_components) {
      problems.push(`${T.few} ${facts.basket.min_components} (${facts.basket.theme})`);
    }
    const margin = price === null ? null : Math.round(price / 1.055) - total;
    box.innerHTML = "";
    const dl = document.createElement("dl");
    for (const [label, value] of [
      [T.cost, euros(total)], [T.perDay, euros(perDay)], [T.distinct, String(seen.size)],
      [T.margin, margin === null ? "—" : euros(margin)],
    ]) {
      const dt = document.createElement("dt"); dt.textContent = label;
      const dd = document.createElement("dd"); dd.textContent = value;
      dl.append(dt, dd);
    }
    box.append(dl);
    const list = document.createElement("ul");
    list.className = problems.length ? "live-rules-broken" : "live-rules-ok";
    for (const text of (problems.length ? problems : [T.ok])) {
      const li = document.createElement("li"); li.textContent = text; list.append(li);
    }
    box.append(list);
  }

  document.addEventListener("input", schedule);
  document.addEventListener("change", schedule);
  if ($) $(document).on("change", "select", schedule); // select2 fires jQuery events only
  document.addEventListener("formset:added", schedule);
  document.addEventListener("formset:removed", schedule);
  document.addEventListener("DOMContentLoaded", refresh);
})();
