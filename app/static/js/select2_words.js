/* Flask-AppBuilder's select2 widgets (form selects, list filters) had no accessible name
   (a screen reader said only the chosen value, or nothing) and spoke English ("No results
   found", "Searching…", "Select a State"). Loaded after select2 and ab.js, before the page's
   ready handlers create them: every select2 gets the reader's words (this tag's data
   attributes, through Babel) and is named by its field's label. */
(function ($) {
  "use strict";
  if (!$ || !$.fn || !$.fn.select2) { return; }
  var script = document.currentScript;
  function word(name) { return (script && script.getAttribute("data-" + name)) || ""; }
  function counted(name, n) { return word(name).replace("{n}", String(n)); }
  var fabPlaceholders = ["Select a State", "Select"];  // ab.js and ab_filters.js, verbatim
  var count = 0;

  $.fn.select2.defaults.set("language", {
    errorLoading: function () { return word("error-loading"); },
    inputTooLong: function (args) { return counted("too-long", args.input.length - args.maximum); },
    inputTooShort: function (args) { return counted("too-short", args.minimum - args.input.length); },
    loadingMore: function () { return word("loading-more"); },
    maximumSelected: function (args) { return counted("maximum", args.maximum); },
    noResults: function () { return word("no-results"); },
    searching: function () { return word("searching"); },
    removeAllItems: function () { return word("remove-all"); }
  });

  // The field's name: its <label for>, else (a list filter) the filter's own label.
  function labelOf(element) {
    var label = element.id ? document.querySelector('label[for="' + element.id + '"]') : null;
    if (label) { return label.textContent.trim(); }
    var row = $(element).closest("tr");
    var filterName = row.find(".remove-filter").text().replace("\u00d7", "").trim();
    if (filterName) {
      return $(element).hasClass("filter-op") ? filterName + " " + word("operator") : filterName;
    }
    return element.getAttribute("aria-label") || element.getAttribute("name") || "";
  }

  function nameIt(element) {
    var container = $(element).next(".select2-container");
    var selection = container.find(".select2-selection");
    var text = labelOf(element);
    if (!selection.length || !text) { return; }
    var nameId = element.getAttribute("data-select2-name-id");
    if (!nameId) {
      nameId = "select2-name-" + (++count);
      element.setAttribute("data-select2-name-id", nameId);
      $('<span class="sr-only"/>').attr("id", nameId).text(text).insertAfter(container);
    }
    // The label, then the value select2 shows (its own aria-labelledby).
    var rendered = selection.find(".select2-selection__rendered").attr("id");
    selection.attr("aria-labelledby", rendered ? nameId + " " + rendered : nameId);
    container.find(".select2-search__field").attr("aria-label", text);
  }

  var original = $.fn.select2;
  $.fn.select2 = function (options) {
    if ($.isPlainObject(options) && fabPlaceholders.indexOf(options.placeholder) >= 0) {
      options = $.extend({}, options, {placeholder: word("placeholder")});
      arguments[0] = options;
    }
    var result = original.apply(this, arguments);
    if (typeof options !== "string") { this.each(function () { nameIt(this); }); }
    return result;
  };
  $.extend($.fn.select2, original);

  // The search box and list of an opened select2 live in a dropdown at the end of <body>.
  $(document).on("select2:open", function (event) {
    var text = labelOf(event.target);
    $(".select2-container--open .select2-search__field").attr("aria-label", text);
    $(".select2-container--open .select2-results__options").attr("aria-label", text);
  });
}(window.jQuery));
