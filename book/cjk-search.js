// The query side of cjk-search.py: mdBook's search splits a query at spaces, and its
// trimmer drops every character outside A-Z, a-z, 0-9 and _ from a word's ends, which
// would leave nothing of a Chinese word. Here a run of Han characters in a query is split
// into the pairs of adjacent characters the Chinese edition's index holds, and the trimmer
// keeps letters of every script. English queries are split and trimmed as before.
(function () {
    "use strict";
    if (typeof elasticlunr === "undefined") {
        return; // the search is turned off
    }
    const han = /[\u3400-\u9fff\uf900-\ufaff]+/g;
    const bySpaces = elasticlunr.tokenizer;

    function pairs(run) {
        if (run.length < 2) {
            return [run];
        }
        const out = [];
        for (let i = 0; i + 1 < run.length; i++) {
            out.push(run.slice(i, i + 2));
        }
        return out;
    }

    function tokenizer(text) {
        const tokens = [];
        for (const word of bySpaces(text)) {
            const runs = word.match(han);
            if (runs === null) {
                tokens.push(word);
                continue;
            }
            tokens.push(...bySpaces(word.replace(han, " ")));
            for (const run of runs) {
                tokens.push(...pairs(run));
            }
        }
        return tokens;
    }
    // elasticlunr's own tokenizer reads its separator from these properties.
    Object.assign(tokenizer, bySpaces);
    elasticlunr.tokenizer = tokenizer;

    function trimmer(token) {
        return token.replace(/^[^\p{L}\p{N}_]+/u, "").replace(/[^\p{L}\p{N}_]+$/u, "");
    }
    // Registered under the old name, so the index loads with it (its pipeline names it).
    elasticlunr.Pipeline.registerFunction(trimmer, "trimmer");
})();
