/**
 * CloudFront's function XML shapes (CloudFront API Reference: FunctionConfig, FunctionSummary, TestResult): reading FunctionConfig from requests, writing FunctionSummary
 * and TestResult. List member element names are exact: the SDK silently drops members it does not recognise.
 */
import { OpenFrontError } from '../../errors.js';
import type { TestResult } from '../../runtime/types.js';
import { xmlChild, xmlText, type XmlNode } from '../http/xml.js';
import type { FunctionConfigInput, FunctionStageView } from '../../state/functions.js';

type XmlElement = Record<string, XmlNode | XmlNode[]>;

function invalid(message: string): OpenFrontError {
  return new OpenFrontError('CF_INVALID_ARGUMENT', message);
}

/** `<FunctionConfig>` of a Create/UpdateFunction request. */
export function readFunctionConfig(request: XmlElement): FunctionConfigInput {
  const config = xmlChild(request, 'FunctionConfig');
  if (config === undefined) throw invalid('FunctionConfig is required');
  const runtime = xmlText(config, 'Runtime');
  if (runtime === undefined) throw invalid('FunctionConfig.Runtime is required');
  // Comment is a required member, but the SDK omits it when the caller does: treat that as empty.
  const input: FunctionConfigInput = { comment: xmlText(config, 'Comment') ?? '', runtime };
  const associations = xmlChild(config, 'KeyValueStoreAssociations');
  if (associations !== undefined) input.keyValueStoreArns = readAssociations(associations);
  return input;
}

function readAssociations(associations: XmlElement): string[] {
  const quantityText = xmlText(associations, 'Quantity');
  if (quantityText === undefined || !/^\d+$/.test(quantityText)) throw invalid('KeyValueStoreAssociations.Quantity must be a non-negative integer');
  const items = xmlChild(associations, 'Items');
  const raw = items?.KeyValueStoreAssociation;
  const members = raw === undefined ? [] : Array.isArray(raw) ? raw : [raw];
  const arns = members.map((member) => {
    const arn = typeof member === 'object' && !Array.isArray(member) ? xmlText(member, 'KeyValueStoreARN') : undefined;
    if (arn === undefined || arn === '') throw invalid('Each KeyValueStoreAssociation needs a KeyValueStoreARN');
    return arn;
  });
  if (Number(quantityText) !== arns.length) {
    throw invalid(`KeyValueStoreAssociations.Quantity is ${quantityText} but ${arns.length} KeyValueStoreAssociation items were given`);
  }
  return arns;
}

/** `<FunctionCode>` (base64) decoded to text. Strict: bytes that are not base64 or not UTF-8 are refused. */
export function readFunctionCode(request: XmlElement): Buffer {
  const text = xmlText(request, 'FunctionCode');
  if (text === undefined) throw invalid('FunctionCode is required');
  return decodeBase64(text.trim(), 'FunctionCode');
}

export function decodeBase64(text: string, field: string): Buffer {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 !== 0) throw invalid(`${field} must be base64`);
  return Buffer.from(text, 'base64');
}

/** The `<FunctionSummary>` content of one stage. */
export function functionSummaryXml(view: FunctionStageView): Record<string, unknown> {
  const functionConfig: Record<string, unknown> = { Comment: view.config.comment, Runtime: view.config.runtime };
  if (view.config.keyValueStoreArn !== undefined) {
    functionConfig.KeyValueStoreAssociations = {
      Quantity: 1,
      Items: { KeyValueStoreAssociation: [{ KeyValueStoreARN: view.config.keyValueStoreArn }] },
    };
  }
  return {
    Name: view.name,
    Status: view.status,
    FunctionConfig: functionConfig,
    FunctionMetadata: {
      FunctionARN: view.arn,
      Stage: view.stage,
      CreatedTime: view.created.toISOString(),
      LastModifiedTime: view.lastModified.toISOString(),
    },
  };
}

/** The `<TestResult>` content. */
export function testResultXml(view: FunctionStageView, result: TestResult): Record<string, unknown> {
  return {
    FunctionSummary: functionSummaryXml(view),
    ComputeUtilization: result.ComputeUtilization,
    FunctionExecutionLogs: result.FunctionExecutionLogs.length > 0 ? { member: result.FunctionExecutionLogs } : '',
    FunctionErrorMessage: result.FunctionErrorMessage,
    FunctionOutput: result.FunctionOutput,
  };
}
