// zod 4: schemas, transforms, and the issues of a failed parse.
const { z } = require("zod");

const User = z.object({
  name: z.string().min(2),
  email: z.string().email(),
  age: z.number().int().positive().optional(),
  roles: z.array(z.enum(["admin", "user"])).default(["user"]),
  joined: z.string().transform((s) => s.toUpperCase()),
});

exports.handler = async () => {
  const ok = User.parse({ name: "Ada", email: "ada@example.com", joined: "monday" });
  const bad = User.safeParse({ name: "A", email: "nope", age: -1, roles: ["root"], joined: 3 });
  return {
    ok,
    success: bad.success,
    issues: bad.error.issues.map((i) => ({ path: i.path, code: i.code })),
    flat: z.flattenError(bad.error).fieldErrors.name,
  };
};
