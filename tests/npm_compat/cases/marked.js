// marked (ESM-only), imported from CommonJS: GitHub-flavoured markdown.
exports.handler = async () => {
  const { marked, Marked } = await import("marked");
  const md = "# Title\n\nSome *em* and **strong** text with `code`.\n\n- a\n- b\n\n| x | y |\n|---|---|\n| 1 | 2 |\n\n```js\nconst a = 1;\n```\n";
  const custom = new Marked({ renderer: { heading({ tokens, depth }) { return `<h${depth} class="x">${this.parser.parseInline(tokens)}</h${depth}>\n`; } } });
  return { html: marked.parse(md), custom: custom.parse("## Sub"), lexed: marked.lexer("# T").map((t) => t.type) };
};
