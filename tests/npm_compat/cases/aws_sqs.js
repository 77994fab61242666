// AWS SDK v3 SQS: create a queue, send, receive and delete, against moto.
const {
  SQSClient,
  CreateQueueCommand,
  SendMessageCommand,
  ReceiveMessageCommand,
  DeleteMessageCommand,
} = require("@aws-sdk/client-sqs");

exports.handler = async (event) => {
  const client = new SQSClient({ endpoint: event.endpoint, region: "us-east-1" });
  const { QueueUrl } = await client.send(new CreateQueueCommand({ QueueName: `compat-${event.suffix}` }));
  const sent = await client.send(
    new SendMessageCommand({
      QueueUrl,
      MessageBody: JSON.stringify({ order: 42, items: ["a", "b"] }),
      MessageAttributes: { kind: { DataType: "String", StringValue: "order" } },
    }),
  );
  const received = await client.send(
    new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 1, WaitTimeSeconds: 1, MessageAttributeNames: ["All"] }),
  );
  const msg = received.Messages[0];
  await client.send(new DeleteMessageCommand({ QueueUrl, ReceiptHandle: msg.ReceiptHandle }));
  return {
    body: JSON.parse(msg.Body),
    kind: msg.MessageAttributes.kind.StringValue,
    md5Matches: sent.MD5OfMessageBody === msg.MD5OfBody,
    sameId: sent.MessageId === msg.MessageId,
  };
};
