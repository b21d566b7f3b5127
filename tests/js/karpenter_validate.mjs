// Validates Karpenter objects (JSON array on stdin) against the schemas @kubernetes-models/karpenter compiles from
// Karpenter's CRDs; prints one array of problems per object (JSON on stdout). Used by tests/kubernetes_schemas.py.
import { NodePool } from "@kubernetes-models/karpenter/karpenter.sh/v1";
import { NodeOverlay } from "@kubernetes-models/karpenter/karpenter.sh/v1alpha1";
import { EC2NodeClass } from "@kubernetes-models/karpenter/karpenter.k8s.aws/v1";

const kinds = { NodePool, EC2NodeClass, NodeOverlay };
let input = "";
for await (const chunk of process.stdin) input += chunk;
const results = JSON.parse(input).map((obj) => {
  const Kind = kinds[obj.kind];
  if (!Kind) return [`no schema for kind ${obj.kind}`];
  try {
    new Kind(obj).validate();
    return [];
  } catch (err) {
    return (err.errors || [{ instancePath: "", message: String(err.message) }]).map(
      (e) => `${e.instancePath}: ${e.message}${e.params && e.params.allowedValues ? ` ${JSON.stringify(e.params.allowedValues)}` : ""}`);
  }
});
process.stdout.write(JSON.stringify(results));
