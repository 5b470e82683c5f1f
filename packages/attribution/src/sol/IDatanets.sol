// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @dev The Datanets system module (native precompile) of OpenLedger.
address constant DATANETS_ADDRESS = 0x4F50454E00000000000000000000000000000001;

/// @title IDatanets
/// @notice Datasets on-chain: contributions, curation, versions (Merkle commitments) and
/// transferable version shares (ERC-1155-style) that earn inference rewards.
/// @dev Share tokens: approving a contribution mints `weight` shares of id
/// `shareTokenId(datanetId, v) = v << 128 | datanetId` to its contributor, v being the version that
/// will first hold the contribution (the next one to be published). Shares of version v earn the
/// datanet-level (pro-rata) income of every receipt naming a version >= v, in proportion to the
/// weight a version held when it was published; they are transferable once version v is published.
/// `balanceOf(holder, datanetId)` / `totalSupply(datanetId)` with a bare datanet id are the totals
/// over all versions (a view: a bare datanet id is not a transferable token).
/// @custom:address 0x4f50454e00000000000000000000000000000001
interface IDatanets {
    /// @notice Contribution status: 0 none, 1 pending, 2 approved, 3 rejected.
    struct DatanetInfo {
        uint256 id;
        address owner;
        bool open;
        string name;
        string metadataURI;
        uint64 contributionCount;
        uint64 approvedCount;
        uint64 versionCount;
        uint64 createdAtBlock;
        uint256 totalShares;
    }

    struct ContributionInfo {
        uint256 datanetId;
        uint256 contributionId;
        address contributor;
        bytes32 contentHash;
        uint64 size;
        string metadataURI;
        bool inlined;
        uint8 status;
        uint64 weight;
        uint64 approvalIndex;
        uint64 submittedAtBlock;
    }

    struct VersionInfo {
        uint256 datanetId;
        uint64 version;
        bytes32 root;
        uint64 count;
        uint64 publishedAtBlock;
    }

    /// @notice How a datanet is curated and licensed. `licenceMode` 0: any model owner may train on
    /// it; 1: only model owners the datanet owner allow-listed (and the datanet owner). A model
    /// trained on it must leave its contributors at least `minContributorsBps` of every fee.
    /// `inlineTextOnly`: contributions must carry their content inline and as UTF-8 text, so that
    /// every version is recomputable on chain (a challenged receipt can be re-run; see
    /// docs/attribution-modules.md, "What the chain can recompute").
    struct DatanetTerms {
        uint8 requiredApprovals;
        uint8 licenceMode;
        uint16 minContributorsBps;
        bool inlineTextOnly;
    }

    /// @notice VersionInfo plus what pro-rata payments use: the total weight of the contributions
    /// the version holds (its share supply, fixed at publication).
    struct VersionDetails {
        uint256 datanetId;
        uint64 version;
        bytes32 root;
        uint64 count;
        uint64 publishedAtBlock;
        uint256 totalWeight;
        /// @notice Bytes of content of all its contributions.
        uint64 contentBytes;
        /// @notice Every contribution it holds is inline UTF-8 text: the chain can re-run attribution
        /// over it.
        bool recomputable;
    }

    event DatanetCreated(uint256 indexed datanetId, address indexed owner, string name, string metadataURI, bool open);
    event DatanetOwnershipTransferred(uint256 indexed datanetId, address indexed previousOwner, address indexed newOwner);
    event ContributionPolicySet(uint256 indexed datanetId, bool open);
    event CuratorSet(uint256 indexed datanetId, address indexed curator, bool enabled);
    event AllowListSet(uint256 indexed datanetId, address indexed account, bool allowed);
    /// @notice `inlined` is true when the content was carried in this transaction's calldata.
    event ContributionSubmitted(
        uint256 indexed datanetId,
        uint256 indexed contributionId,
        address indexed contributor,
        bytes32 contentHash,
        uint64 size,
        string metadataURI,
        bool inlined
    );
    event ContributionApproved(
        uint256 indexed datanetId, uint256 indexed contributionId, address indexed curator, uint64 weight, uint64 approvalIndex
    );
    event ContributionRejected(uint256 indexed datanetId, uint256 indexed contributionId, address indexed curator);
    /// @notice A curator's approval vote; the contribution is approved (ContributionApproved) by the
    /// vote that brings `approvals` to the datanet's `requiredApprovals`.
    event ApprovalVoted(
        uint256 indexed datanetId, uint256 indexed contributionId, address indexed curator, uint64 weight, uint8 approvals
    );
    /// @notice A curator withdrew its vote before the version holding the contribution was
    /// published; below the requirement the contribution is pending again and its shares are burnt.
    event ApprovalRevoked(uint256 indexed datanetId, uint256 indexed contributionId, address indexed curator, uint8 approvals);
    event RequiredApprovalsSet(uint256 indexed datanetId, uint8 requiredApprovals);
    event LicenceSet(uint256 indexed datanetId, uint8 licenceMode, uint16 minContributorsBps);
    event ModelOwnerAllowed(uint256 indexed datanetId, address indexed modelOwner, bool allowed);
    event ContentPolicySet(uint256 indexed datanetId, bool inlineTextOnly);
    /// @notice The bytes of an inline contribution, kept in the chain's history (receipts) so that
    /// every node can re-run attribution over a datanet version when a receipt is challenged.
    event ContributionContent(uint256 indexed datanetId, uint256 indexed contributionId, bytes content);
    event VersionPublished(uint256 indexed datanetId, uint64 indexed version, bytes32 root, uint64 count);
    event TransferSingle(address indexed operator, address indexed from, address indexed to, uint256 id, uint256 value);
    event ApprovalForAll(address indexed account, address indexed operator, bool approved);

    error WriteProtection();
    error NonPayable(uint256 value);
    error UnknownSelector(bytes4 selector);
    error MalformedCalldata();
    error StringTooLong(uint256 length, uint256 maxLength);
    error TooManyItems(uint256 count, uint256 max);
    error ZeroAddress();
    error DatanetNotFound(uint256 datanetId);
    error ContributionNotFound(uint256 datanetId, uint256 contributionId);
    error VersionNotFound(uint256 datanetId, uint64 version);
    error NotDatanetOwner(uint256 datanetId, address caller);
    error NotCurator(uint256 datanetId, address caller);
    error NotAllowListed(uint256 datanetId, address caller);
    error ContributionNotPending(uint256 datanetId, uint256 contributionId, uint8 status);
    error InvalidWeight(uint64 weight, uint64 maxWeight);
    error InvalidContentSize(uint64 size);
    error InlineContentTooLarge(uint256 size, uint256 maxSize);
    error InlineContentMismatch(bytes32 declaredHash, uint64 declaredSize, bytes32 actualHash, uint64 actualSize);
    error NothingToPublish(uint256 datanetId, uint64 approvedCount);
    error InsufficientShares(address account, uint256 id, uint256 balance, uint256 needed);
    error NotOwnerNorApproved(address account, address operator);
    /// @notice `id` is not a share token (e.g. a bare datanet id, or an unknown datanet).
    error InvalidShareToken(uint256 id);
    /// @notice Shares of a version that is not published yet cannot move.
    error SharesLocked(uint256 id);
    error SelfApproval(uint256 datanetId, uint256 contributionId);
    error AlreadyApproved(uint256 datanetId, uint256 contributionId, address curator);
    error NotApproved(uint256 datanetId, uint256 contributionId, address curator);
    /// @notice Every approval of a contribution must propose the same weight.
    error WeightMismatch(uint256 datanetId, uint256 contributionId, uint64 proposed, uint64 given);
    error AlreadyPublished(uint256 datanetId, uint256 contributionId);
    /// @notice A contribution the version would add weighs more than the governed share of its total.
    error WeightCapExceeded(uint256 datanetId, uint256 contributionId, uint64 weight, uint256 maxWeight);
    /// @notice The version being prepared holds the most contributions one version may add: publish first.
    error VersionBatchFull(uint256 datanetId, uint256 maxBatch);
    error InvalidRequiredApprovals(uint8 requiredApprovals);
    error InvalidLicence(uint8 licenceMode, uint16 minContributorsBps);
    /// @notice The datanet takes inline UTF-8 text only (setContentPolicy).
    error ContentNotRecomputable(uint256 datanetId);

    /// @notice Creates a datanet owned by msg.sender. `open` lets anyone contribute; otherwise only
    /// allow-listed accounts (and the owner and curators) may. Returns the new datanet id (from 1).
    function createDatanet(string calldata name, string calldata metadataURI, bool open, address[] calldata curators)
        external
        returns (uint256 datanetId);

    function transferDatanetOwnership(uint256 datanetId, address newOwner) external;
    function setContributionPolicy(uint256 datanetId, bool open) external;
    function setCurator(uint256 datanetId, address curator, bool enabled) external;
    function setAllowListed(uint256 datanetId, address contributor, bool allowed) external;

    /// @notice Submits a contribution. `content` is either empty (referenced by hash + URI) or the
    /// full content inline, in which case keccak256(content) must equal `contentHash` and its length
    /// `size`: only the hash is stored, the bytes stay recoverable from the transaction's calldata.
    function contribute(
        uint256 datanetId,
        bytes32 contentHash,
        uint64 size,
        string calldata metadataURI,
        bytes calldata content
    ) external returns (uint256 contributionId);

    /// @notice A curator (or the owner) votes to approve a pending contribution with `weight`; never
    /// its own contribution. On the vote reaching the datanet's `requiredApprovals` (default 1) the
    /// contribution is approved: `weight` shares of the next version's share token are minted to
    /// its contributor. All votes on a contribution must propose the same weight.
    function approveContribution(uint256 datanetId, uint256 contributionId, uint64 weight) external;
    /// @notice Withdraws the caller's approval vote, until the version holding the contribution is
    /// published.
    function revokeApproval(uint256 datanetId, uint256 contributionId) external;
    function rejectContribution(uint256 datanetId, uint256 contributionId) external;
    /// @notice Owner only: approvals (1..16) a contribution needs; the owner counts as a curator.
    function setRequiredApprovals(uint256 datanetId, uint8 requiredApprovals) external;
    /// @notice Owner only: licence of the datanet for models trained on it (see DatanetTerms).
    function setLicence(uint256 datanetId, uint8 licenceMode, uint16 minContributorsBps) external;
    function setModelOwnerAllowed(uint256 datanetId, address modelOwner, bool allowed) external;
    /// @notice Owner only: require contributions to be inline UTF-8 text (recomputable on chain).
    function setContentPolicy(uint256 datanetId, bool inlineTextOnly) external;

    /// @notice Commits to all contributions approved so far (approval order) as a new version.
    /// None of the contributions it adds may weigh more than the governed share
    /// (`maxWeightShareBps`) of the version's total weight.
    function publishVersion(uint256 datanetId) external returns (uint64 version, bytes32 root, uint64 count);

    /// @notice Moves version shares (`id` a share token id of a published version). Settles both
    /// sides' pending rewards first, so rewards earned before the transfer stay with the sender and
    /// later rewards follow the shares. No receiver hook is called (a precompile cannot call out),
    /// hence not named safeTransferFrom.
    function transferShares(address from, address to, uint256 id, uint256 amount) external;
    function setApprovalForAll(address operator, bool approved) external;

    function datanetCount() external view returns (uint256);
    function getDatanet(uint256 datanetId) external view returns (DatanetInfo memory);
    function getContribution(uint256 datanetId, uint256 contributionId) external view returns (ContributionInfo memory);
    function getVersion(uint256 datanetId, uint64 version) external view returns (VersionInfo memory);
    function approvedContributionAt(uint256 datanetId, uint64 approvalIndex) external view returns (uint256 contributionId);
    function isCurator(uint256 datanetId, address curator) external view returns (bool);
    function isAllowListed(uint256 datanetId, address contributor) external view returns (bool);
    function balanceOf(address holder, uint256 id) external view returns (uint256);
    function totalSupply(uint256 id) external view returns (uint256);
    function isApprovedForAll(address holder, address operator) external view returns (bool);
    /// @notice Distinct datanets the holder has shares of.
    function heldDatanets(address holder) external view returns (uint256[] memory);
    /// @notice Share token ids the holder has a non-zero balance of.
    function heldShareTokens(address holder) external view returns (uint256[] memory);
    function shareTokenId(uint256 datanetId, uint64 version) external pure returns (uint256);
    function getDatanetTerms(uint256 datanetId) external view returns (DatanetTerms memory);
    function isModelOwnerAllowed(uint256 datanetId, address modelOwner) external view returns (bool);
    /// @notice Approval votes a contribution has, the weight they propose, and the caller-independent
    /// vote of `curator` (0: none).
    function getApprovals(uint256 datanetId, uint256 contributionId, address curator)
        external
        view
        returns (uint8 approvals, uint64 proposedWeight, uint64 curatorVote);
    function getVersionDetails(uint256 datanetId, uint64 version) external view returns (VersionDetails memory);
}
