/** Conditional writes, the directory's one way of saying "only if nobody changed it since". */
import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";

/** True when the write was made; false when its condition failed (another write got there first). */
export async function written(write: Promise<unknown>): Promise<boolean> {
  try {
    await write;
    return true;
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) return false;
    throw error;
  }
}
