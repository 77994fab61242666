// AWS SDK v3 DynamoDB with the document client (lib-dynamodb), against moto.
const { DynamoDBClient, CreateTableCommand, waitUntilTableExists } = require("@aws-sdk/client-dynamodb");
const { DynamoDBDocumentClient, PutCommand, GetCommand, UpdateCommand } = require("@aws-sdk/lib-dynamodb");

exports.handler = async (event) => {
  const client = new DynamoDBClient({ endpoint: event.endpoint, region: "us-east-1" });
  const doc = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  const TableName = `compat-${event.suffix}`;
  try {
    await client.send(
      new CreateTableCommand({
        TableName,
        KeySchema: [{ AttributeName: "id", KeyType: "HASH" }],
        AttributeDefinitions: [{ AttributeName: "id", AttributeType: "S" }],
        BillingMode: "PAY_PER_REQUEST",
      }),
    );
  } catch (err) {
    if (err.name !== "ResourceInUseException") throw err;
  }
  await waitUntilTableExists({ client, maxWaitTime: 30 }, { TableName });
  const item = { id: "user-1", name: "Ada", age: 36, tags: new Set(["a", "b"]), nested: { list: [1, "two", null], flag: true }, skip: undefined };
  await doc.send(new PutCommand({ TableName, Item: item }));
  const updated = await doc.send(
    new UpdateCommand({
      TableName,
      Key: { id: "user-1" },
      UpdateExpression: "SET age = age + :one",
      ExpressionAttributeValues: { ":one": 1 },
      ReturnValues: "UPDATED_NEW",
    }),
  );
  const got = await doc.send(new GetCommand({ TableName, Key: { id: "user-1" }, ConsistentRead: true }));
  const out = { ...got.Item, tags: [...got.Item.tags].sort() };
  return { item: out, updated: updated.Attributes, status: got.$metadata.httpStatusCode };
};
